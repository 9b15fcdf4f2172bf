import Foundation

extension JobPage {
    /// The page a store returns, from what it read, so every store sets `nextBeforeId` and `scanLimitReached` the
    /// same way.
    ///
    /// - Parameters:
    ///   - matches: the first `limit + 1` (or fewer) jobs matching the filters among the rows read, newest first.
    ///   - window: how many rows the store read past the cursor (at most `scanLimit`), and the lowest id among
    ///     them; asked only when the page is not full.
    ///   - hasOlder: whether a row the store could read (of the table, or of `indexedStatus`) has an id below the
    ///     given one.
    package static func assemble(
        _ matches: [SmrtJob], _ query: JobPageQuery, window: () throws -> (rows: Int, lowestId: Int64?),
        hasOlder: (Int64) throws -> Bool
    ) throws -> JobPage {
        if matches.count > query.limit {
            let jobs = Array(matches.prefix(query.limit))
            return JobPage(jobs: jobs, nextBeforeId: jobs.last?.id, scanLimitReached: false)
        }
        if matches.count == query.limit, let last = matches.last {
            return JobPage(jobs: matches, nextBeforeId: try hasOlder(last.id) ? last.id : nil, scanLimitReached: false)
        }
        let (rows, lowestId) = try window()
        if rows >= query.scanLimit, let lowestId, try hasOlder(lowestId) {
            return JobPage(jobs: matches, nextBeforeId: lowestId, scanLimitReached: true)
        }
        return JobPage(jobs: matches, nextBeforeId: nil, scanLimitReached: false)
    }
}
