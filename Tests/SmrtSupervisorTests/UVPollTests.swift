import Foundation
import Testing
@testable import SmrtSupervisor

@Suite struct UVPollTests {
    @Test func pollReportsReadabilityOfAForeignDescriptor() throws {
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let loop = try UVLoop()
        let poll = try UVPoll(loop: loop, fd: fds[0])
        var seen: UVPoll.Events = []
        try poll.start(.readable) { poll, result in
            if case .success(let events) = result { seen = events }
            poll.close()  // does not close fds[0]
        }
        #expect(write(fds[1], "x", 1) == 1)
        runWithDeadline(loop)
        #expect(seen.contains(.readable))
        var byte: UInt8 = 0
        #expect(read(fds[0], &byte, 1) == 1 && byte == UInt8(ascii: "x"))
        expectCleanClose(loop)
    }

    @Test func failedInitialisationThrowsAndLeavesNothingToClose() throws {
        let loop = try UVLoop()
        // A descriptor number that is not open: libuv refuses it before registering the handle.
        #expect(throws: UVError.self) { _ = try UVPoll(loop: loop, fd: 987_654) }
        #expect(loop.handlesOpened == 0)
        expectCleanClose(loop)
    }
}
