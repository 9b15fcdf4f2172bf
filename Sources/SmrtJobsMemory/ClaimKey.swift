import Foundation

/// A pending job's place in the claim order: priority DESC, runAt ASC, id ASC (`<` means "claimed first").
struct ClaimKey: Comparable, Sendable {
    var priority: Int
    var runAt: Date
    var id: Int64

    static func < (a: ClaimKey, b: ClaimKey) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        if a.runAt != b.runAt { return a.runAt < b.runAt }
        return a.id < b.id
    }
}

extension Array where Element == ClaimKey {
    /// Where `key` is, or would be inserted, in this sorted array.
    func insertionIndex(of key: ClaimKey) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid] < key { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
