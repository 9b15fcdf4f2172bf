import Foundation
import SmrtJobs
import Testing

@Suite("CLI list, show, stats")
struct CLIQueryTests {
    /// Three jobs: 1 pending on default, 2 pending on "mail", 3 completed on default (with a result).
    static func populated() throws -> (Sandbox, [Int64]) {
        let sandbox = try Sandbox()
        let a = try sandbox.enqueue("Document", "render", "--object-id", "doc-1", "--args", #"{"format":"md"}"#)
        let b = try sandbox.enqueue("Mailer", "send", "--queue", "mail", "--priority", "high")
        let c = try sandbox.enqueue("Report", "build", "--priority", "low")
        let store = try sandbox.store()
        let claimed = try store.claim(workerId: "test-worker", limit: 10, queues: ["default"], now: Date())
        #expect(Set(claimed.map(\.id)) == [a, c])
        try store.complete(id: c, workerId: "test-worker", result: ["pages": 3], now: Date())
        try store.release(jobIds: [a], workerId: "test-worker", now: Date())
        return (sandbox, [a, b, c])
    }

    @Test func listTableIsAligned() throws {
        let (sandbox, ids) = try Self.populated()
        let result = try sandbox.run("list")
        #expect(result.status == 0, "\(result)")
        let lines = result.lines
        #expect(lines.count == 4)
        let header = lines[0]
        for column in ["ID", "STATUS", "QUEUE", "PRI", "ATTEMPTS", "JOB", "RUN AT", "LAST ERROR"] {
            #expect(header.contains(column), "header: \(header)")
        }
        // Newest first; each column starts where its header does.
        #expect(lines[1].hasPrefix("\(ids[2]) "))
        #expect(lines[3].hasPrefix("\(ids[0]) "))
        let statusColumn = try #require(header.range(of: "STATUS")).lowerBound.utf16Offset(in: header)
        let jobColumn = try #require(header.range(of: "JOB")).lowerBound.utf16Offset(in: header)
        let row = lines[3]
        #expect(row.dropFirst(statusColumn).hasPrefix("pending"), "row: \(row)")
        #expect(row.dropFirst(jobColumn).hasPrefix("Document#doc-1.render()"), "row: \(row)")
        #expect(lines[1].dropFirst(statusColumn).hasPrefix("completed"))
        #expect(lines[2].contains("Mailer.send()"))
        #expect(lines[1].contains("1/3"), "attempts/maxAttempts")
    }

    @Test func listFilters() throws {
        let (sandbox, ids) = try Self.populated()
        let completed = try sandbox.run("list", "--status", "completed")
        #expect(completed.lines.count == 2)
        #expect(completed.lines[1].hasPrefix("\(ids[2]) "))
        let mail = try sandbox.run("list", "--queue", "mail", "--json")
        let mailJobs = try #require(try parseJSON(mail.stdout) as? [[String: Any]])
        #expect(mailJobs.map { ($0["id"] as? NSNumber)?.int64Value } == [ids[1]])
        let limited = try sandbox.run("list", "--limit", "2", "--json")
        #expect((try parseJSON(limited.stdout) as? [Any])?.count == 2)
        let none = try sandbox.run("list", "--status", "failed")
        #expect(none.status == 0)
        #expect(none.stdout == "no jobs\n")
        #expect(try sandbox.run("list", "--status", "failed", "--json").stdout == "[]\n")
    }

    @Test func listJSONHasCamelCaseFields() throws {
        let (sandbox, ids) = try Self.populated()
        let result = try sandbox.run("list", "--json")
        #expect(result.status == 0, "\(result)")
        let jobs = try #require(try parseJSON(result.stdout) as? [[String: Any]])
        #expect(jobs.count == 3)
        #expect(jobs.compactMap { ($0["id"] as? NSNumber)?.int64Value } == ids.reversed())
        let expectedKeys: Set<String> = [
            "id", "tenantId", "queue", "objectType", "objectId", "method", "args", "runAt", "priority", "status",
            "attempts", "maxAttempts", "timeout", "timeoutBehavior", "startedAt", "completedAt", "lastError",
            "resultPointer", "result", "retryStrategy", "workerId", "workerHeartbeat", "createdAt", "updatedAt",
            "uniqueKey", "progress", "workerPid", "workerExit",
        ]
        for job in jobs {
            #expect(Set(job.keys) == expectedKeys)
            #expect(!job.keys.contains { $0.contains("_") })
            #expect(isStoredTimestamp(job["runAt"]))
            #expect(isStoredTimestamp(job["createdAt"]))
        }
        let doc = try #require(jobs.first { ($0["id"] as? NSNumber)?.int64Value == ids[0] })
        #expect(doc["objectType"] as? String == "Document")
        #expect(doc["objectId"] as? String == "doc-1")
        #expect((doc["args"] as? [String: Any])?["format"] as? String == "md")
        #expect(doc["status"] as? String == "pending")
        #expect(doc["timeoutBehavior"] as? String == "fail")
        #expect((doc["maxAttempts"] as? NSNumber)?.intValue == 3)
        #expect(doc["completedAt"] is NSNull)
        let report = try #require(jobs.first { ($0["id"] as? NSNumber)?.int64Value == ids[2] })
        #expect(report["status"] as? String == "completed")
        #expect(isStoredTimestamp(report["completedAt"]))
        #expect(((report["result"] as? [String: Any])?["pages"] as? NSNumber)?.intValue == 3)
        #expect(report["workerId"] as? String == "test-worker")
        #expect((report["retryStrategy"] as? [String: Any])?["type"] as? String == "exponential")
    }

    @Test func showHumanAndJSON() throws {
        let (sandbox, ids) = try Self.populated()
        let human = try sandbox.run("show", String(ids[2]))
        #expect(human.status == 0, "\(human)")
        let pairs = Dictionary(
            human.lines.map { line -> (String, String) in
                let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
            }, uniquingKeysWith: { first, _ in first })
        #expect(pairs["id"] == String(ids[2]))
        #expect(pairs["status"] == "completed")
        #expect(pairs["job"] == "Report.build()")
        #expect(pairs["priority"] == "25")
        #expect(pairs["result"] == #"{"pages":3}"#)
        #expect(pairs["objectId"] == "-")
        #expect(pairs["completedAt"]?.hasSuffix("Z") == true)

        let json = try sandbox.run("show", String(ids[0]), "--json")
        #expect(json.status == 0, "\(json)")
        let job = try #require(try parseJSON(json.stdout) as? [String: Any])
        #expect((job["id"] as? NSNumber)?.int64Value == ids[0])
        #expect(job["method"] as? String == "render")
        #expect(isStoredTimestamp(job["updatedAt"]))
    }

    @Test func unknownJob() throws {
        let (sandbox, _) = try Self.populated()
        expectFailure(try sandbox.run("show", "99"), mentioning: ["job 99 not found"])
        expectFailure(try sandbox.run("show", "99", "--json"), mentioning: ["job 99 not found"])
        // A database that does not exist is not created by a read.
        let empty = try Sandbox()
        expectFailure(try empty.run("show", "99"), mentioning: ["no such database: \(empty.dbPath)"])
        #expect(!empty.dbExists)
    }

    @Test func statsHumanAndJSON() throws {
        let (sandbox, _) = try Self.populated()
        let human = try sandbox.run("stats")
        #expect(human.status == 0)
        #expect(human.lines == ["pending: 2", "running: 0", "completed: 1", "failed: 0", "cancelled: 0"])
        let json = try sandbox.run("stats", "--json")
        #expect(json.stdout == #"{"pending":2,"running":0,"completed":1,"failed":0,"cancelled":0}"# + "\n")
        let mail = try sandbox.run("stats", "--queue", "mail", "--json")
        #expect(mail.stdout == #"{"pending":1,"running":0,"completed":0,"failed":0,"cancelled":0}"# + "\n")
    }

    @Test func emptyDatabase() throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run("stats", "--json"), mentioning: ["no such database: \(sandbox.dbPath)"])
        expectFailure(try sandbox.run("list"), mentioning: ["no such database: \(sandbox.dbPath)"])
        #expect(!sandbox.dbExists, "reads do not create the database")
        _ = try sandbox.store()
        #expect(try sandbox.run("stats", "--json").stdout
            == #"{"pending":0,"running":0,"completed":0,"failed":0,"cancelled":0}"# + "\n")
        #expect(try sandbox.run("list").stdout == "no jobs\n")
        #expect(try sandbox.run("list", "--json").stdout == "[]\n")
    }

    @Test(arguments: [
        (["list", "--status", "bogus"], ["invalid status 'bogus'", "pending, running, completed, failed or cancelled"]),
        (["list", "--limit", "0"], ["invalid limit '0'"]),
        (["list", "--limit", "-5"], ["invalid limit '-5'"]),
    ])
    func badListValues(args: [String], fragments: [String]) throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run(args), mentioning: fragments)
        #expect(!sandbox.dbExists)
    }

    @Test(arguments: [["show"], ["show", "abc"], ["list", "--bogus"], ["stats", "extra"]])
    func usageErrors(args: [String]) throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run(args), status: 2, mentioning: [])
    }
}
