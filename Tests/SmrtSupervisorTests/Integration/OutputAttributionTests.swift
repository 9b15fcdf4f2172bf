import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

extension IntegrationTests {
    /// Each line a worker writes on stdout or stderr is logged with the job that wrote it: what a job wrote before it
    /// answered is read when its result arrives, before the next job is sent, and a last line without a newline is
    /// logged then as a line of its own.
    @Suite struct OutputAttribution {
        /// The `worker_output` lines as (line, job id), once `count` have been logged.
        static func outputLines(_ supervisor: SupervisorProcess, count: Int) throws -> [(line: String, jobId: Int?)] {
            try supervisor.waitFor("worker_output", count: count).map { ($0["line"] as? String ?? "", $0["job_id"] as? Int) }
        }

        @Test func aLineWithoutANewlineStaysWithItsJob() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let raw = try db.enqueue("print", ["text": "no newline", "newline": false])
                let stdio = try db.enqueue("print", ["text": "printed, no newline", "newline": false, "stdio": true])
                let next = try db.enqueue("print", ["text": "next job"])
                let supervisor = try SupervisorProcess(database: db, workers: 1)
                for id in [raw, stdio, next] { try db.waitFor(id, .completed, log: supervisor) }
                let lines = try Self.outputLines(supervisor, count: 6)
                let expected: [String: Int64] = ["no newline": raw, "printed, no newline": stdio, "next job": next]
                #expect(lines.count == 6, "\(lines)")
                for (text, id) in expected {
                    let tagged = lines.filter { $0.line == text }
                    #expect(tagged.count == 2, "'\(text)' on stdout and stderr: \(lines)")
                    #expect(tagged.allSatisfy { $0.jobId == Int(id) }, "'\(text)' belongs to job \(id): \(lines)")
                }
            }
        }

        /// With jobs held ahead (the next RUN goes out as soon as a result arrives) and queued behind the running one
        /// (protocol 4: the next job begins right behind the result, its output in the same pipes), a line read late
        /// would be tagged with the next job: 40 jobs in a row on one worker, every line with its own job.
        @Test func everyLineCarriesItsOwnJob() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let ids = try (0..<40).map { try db.enqueue("print", ["text": .string("line of job \($0)")]) }
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, arguments: ["--debug"] + SupervisorProcess.everyJobShort)
                for id in ids { try db.waitFor(id, .completed, log: supervisor) }
                let lines = try Self.outputLines(supervisor, count: 80)
                #expect(lines.count == 80)
                for (index, id) in ids.enumerated() {
                    let tagged = lines.filter { $0.line == "line of job \(index)" }
                    #expect(tagged.count == 2 && tagged.allSatisfy { $0.jobId == Int(id) }, "job \(id): \(tagged)")
                }
                #expect(!supervisor.events("job_queued").isEmpty, "jobs were queued behind running ones")
            }
        }
    }
}
