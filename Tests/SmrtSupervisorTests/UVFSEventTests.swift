import Foundation
import Testing
@testable import SmrtSupervisor

@Suite struct UVFSEventTests {
    @Test func watchingADirectoryNoticesAWriteToAFileInIt() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("smrt-uv-fsevent-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("jobs.db-wal")
        try Data("a".utf8).write(to: file)

        let loop = try UVLoop()
        let watcher = try UVFSEvent(loop: loop)
        var changes: [UVFSEvent.Change] = []
        try watcher.start(path: directory.path) { watcher, result in
            if case .success(let change) = result {
                changes.append(change)
                if change.filename == "jobs.db-wal" { watcher.close() }
            }
        }
        #expect(watcher.path == directory.path)
        let writer = try UVTimer(loop: loop)
        try writer.start(timeoutMs: 5) { timer in
            timer.close()
            let handle = try! FileHandle(forWritingTo: file)
            handle.seekToEndOfFile()
            handle.write(Data("more".utf8))
            try! handle.close()
        }
        runWithDeadline(loop, timeoutMs: 5_000)
        #expect(changes.contains { $0.filename == "jobs.db-wal" && $0.events.contains(.change) })
        expectCleanClose(loop)
    }

    @Test func watchingAMissingPathFails() throws {
        let loop = try UVLoop()
        let watcher = try UVFSEvent(loop: loop)
        #expect(throws: UVError(code: UVError.Code.ENOENT, operation: "uv_fs_event_start")) {
            try watcher.start(path: "/nonexistent/smrt/jobs.db-wal") { _, _ in }
        }
        watcher.close()
        expectCleanClose(loop)
    }
}
