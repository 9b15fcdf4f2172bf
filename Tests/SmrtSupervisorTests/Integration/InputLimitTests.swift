import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

extension IntegrationTests {
    /// What the supervisor does with input enqueue would have refused, and with secrets under the keys
    /// redaction learned last (auth, pwd, private_key, session, cookie) and in URLs.
    @Suite struct InputLimits {
        /// A job whose args were written past enqueue's size check (by an older version, or by hand) could never
        /// be delivered: it fails once, at once, without being sent to a worker, and the error names the cause.
        /// The worker it was meant for stays up and runs the next job.
        @Test func oversizeJobFailsOnceWithoutAWorker() throws {
            let db = try TestDatabase()
            let big = try db.enqueue("noop", maxAttempts: 3)
            let args = #"{"a":""# + String(repeating: "x", count: 5 << 20) + #""}"#
            _ = try db.store.withConnection { connection in
                try connection.run("UPDATE _smrt_jobs SET args = ?1 WHERE id = ?2") { statement in
                    try statement.bind(args, 1)
                    try statement.bind(big, 2)
                }
            }
            let next = try db.enqueue("noop")
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let job = try db.waitFor(big, .failed, log: supervisor)
            #expect(job.attempts == 1, "failed once, not retried")
            let error = try #require(job.lastError)
            #expect(error.hasPrefix("job too large to send to a worker: its RUN message would be "), "\(error)")
            #expect(error.contains("over the worker protocol's frame limit of 4194304 bytes"), "\(error)")
            try db.waitFor(next, .completed, log: supervisor)
            #expect(supervisor.events("worker_exited").isEmpty, "no worker was sent it: \(supervisor.logTail())")
            #expect(supervisor.events("job_started") { $0["job_id"] as? Int == Int(big) }.isEmpty)
            let failed = try supervisor.waitFor("job_failed") { $0["job_id"] as? Int == Int(big) }
            #expect((failed["run_message_bytes"] as? Int ?? 0) > 5 << 20)
        }

        /// `--debug` args, lines the worker prints and the stored error never carry a value under auth, pwd,
        /// private_key, session or cookie, nor a URL's password.
        @Test func newSecretKeysAreRedactedFromLogsAndStoredErrors() throws {
            let db = try TestDatabase()
            let failing = try db.enqueue("fail", [
                "message": "login failed: auth=a-uth1 pwd=p-wd1 private_key=k-ey1 session=s-ess1 via https://user:P-ASS1@host/db cookie=c-ook1",
                "session": "s-ess2", "Cookie": "c-ook2", "privateKey": "k-ey2", "dsn": "postgres://svc:P-ASS2@db/app",
            ])
            let printing = try db.enqueue("print", [
                "text": "AUTH: a-uth3 | pwd=p-wd3 | {\"session_id\": \"s-ess3\"} | https://bot:P-ASS3@api/x | Cookie: sid=c-ook3; theme=dark",
            ])
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--debug"])
            let job = try db.waitFor(failing, .failed, log: supervisor)
            #expect(job.lastError == "login failed: auth=[REDACTED] pwd=[REDACTED] private_key=[REDACTED] "
                + "session=[REDACTED] via https://user:[REDACTED]@host/db cookie=[REDACTED]")
            try db.waitFor(printing, .completed, log: supervisor)
            let lines = try supervisor.waitFor("worker_output", count: 2) { ($0["line"] as? String)?.hasPrefix("AUTH") == true }
            #expect(lines.first?["line"] as? String
                == #"AUTH: [REDACTED] | pwd=[REDACTED] | {"session_id": "[REDACTED]"} | https://bot:[REDACTED]@api/x | Cookie: [REDACTED]"#)
            let started = try #require(supervisor.events("job_started") { $0["job_id"] as? Int == Int(failing) }.first)
            let args = try #require(started["args"] as? String)
            for fragment in [#""session":"[REDACTED]""#, #""Cookie":"[REDACTED]""#, #""privateKey":"[REDACTED]""#,
                             "postgres://svc:[REDACTED]@db/app"] {
                #expect(args.contains(fragment), "\(fragment) not in \(args)")
            }
            let log = supervisor.logText
            for secret in ["a-uth", "p-wd", "k-ey", "s-ess", "c-ook", "P-ASS"] {
                #expect(!log.contains(secret), "\(secret) in the log")
            }
        }
    }
}
