import Foundation
import Testing
@testable import SmrtSupervisor

@Suite struct UVProcessTests {
    /// Spawns `/bin/sh -c script` with nothing attached and returns how it ended.
    private func exitStatus(ofShell script: String) throws -> ExitStatus? {
        let loop = try UVLoop()
        var status: ExitStatus?
        _ = try UVProcess.spawn(loop: loop, executable: "/bin/sh", arguments: ["-c", script]) { process, exit in
            status = exit
            process.close()
        }
        runWithDeadline(loop)
        expectCleanClose(loop)
        return status
    }

    @Test func exitCodeIsReported() throws {
        let status = try exitStatus(ofShell: "exit 3")
        #expect(status == .exited(code: 3))
        #expect(status?.description == "exited with code 3")
        #expect(status?.isSuccess == false)
        #expect(try exitStatus(ofShell: "true")?.isSuccess == true)
    }

    @Test func terminatingSignalIsKeptApartFromTheExitCode() throws {
        let status = try exitStatus(ofShell: "kill -SEGV $$")
        #expect(status == .signaled(signal: SIGSEGV))
        #expect(status?.description == "killed by signal 11 (SIGSEGV)")
        // A plain exit code of 139 is an exit, not a signal.
        #expect(try exitStatus(ofShell: "exit 139") == .exited(code: 139))
    }

    @Test func signalNames() {
        #expect(ExitStatus.signalName(SIGKILL) == "SIGKILL")
        #expect(ExitStatus.signalName(SIGTERM) == "SIGTERM")
        #expect(ExitStatus.signalName(SIGXCPU) == "SIGXCPU")
        #expect(ExitStatus.signalName(63) == nil)
        #expect(ExitStatus.signaled(signal: 63).description == "killed by signal 63")
    }

    @Test func missingExecutableThrowsENOENTAndLeaksNothing() throws {
        let loop = try UVLoop()
        let stdout = try UVPipe(loop: loop)
        var exited = false
        do {
            _ = try UVProcess.spawn(
                loop: loop, executable: "/nonexistent/smrt-worker",
                stdio: [.ignore, .createPipe(stdout, readable: false, writable: true)]
            ) { _, _ in exited = true }
            Issue.record("spawn of a missing executable succeeded")
        } catch let error as UVError {
            #expect(error.code == UVError.Code.ENOENT)
            #expect(error.description == "spawn: ENOENT (no such file or directory)")
        }
        // The pipe was closed for us (no process handle is made for a child that never exec'd); closing the
        // loop runs its close callback and then succeeds only if no handle is left.
        #expect(stdout.isClosing)
        expectCleanClose(loop)
        #expect(stdout.isClosed)
        #expect(loop.handlesClosed == 1)
        #expect(!exited)
    }

    /// A failure between fork and exec names its step, and leaves no child and no descriptor behind.
    @Test func aFailureBeforeExecNamesItsStep() throws {
        let loop = try UVLoop()
        let stdout = try UVPipe(loop: loop)
        #expect(throws: UVError(code: UVError.Code.ENOENT, operation: "spawn (chdir)")) {
            _ = try UVProcess.spawn(
                loop: loop, executable: "/bin/true", workingDirectory: "/nonexistent/directory",
                stdio: [.ignore, .createPipe(stdout, readable: false, writable: true)]
            ) { _, _ in Issue.record("a child that never ran exited") }
        }
        #expect(stdout.isClosing)
        expectCleanClose(loop)
    }

    /// Runs `/bin/sh -c script` with stdout captured; returns its output and how it ended.
    private func output(ofShell script: String, resourceLimits: [UVProcess.ResourceLimit] = []) throws -> (String, ExitStatus?) {
        let loop = try UVLoop()
        let stdout = try UVPipe(loop: loop)
        var status: ExitStatus?
        _ = try UVProcess.spawn(
            loop: loop, executable: "/bin/sh", arguments: ["-c", script],
            stdio: [.ignore, .createPipe(stdout, readable: false, writable: true)], resourceLimits: resourceLimits
        ) { process, exit in
            status = exit
            process.close()
        }
        let output = ReadCollector()
        try output.start(stdout)
        runWithDeadline(loop)
        expectCleanClose(loop)
        return (output.text, status)
    }

    /// The child has the descriptors in `stdio` and nothing else, not even one this process opened without
    /// O_CLOEXEC (as an app embedding the supervisor, or the supervisor's own parent, may leave them).
    @Test func onlyTheGivenDescriptorsAreInherited() throws {
        let leaked = open("/dev/null", O_RDONLY)
        #expect(leaked > 2)
        defer { close(leaked) }
        // `; true`: the shell forks `ls` instead of exec'ing it, so `$$` stays the shell.
        let (text, status) = try output(ofShell: "ls /proc/$$/fd; true")
        #expect(status == .exited(code: 0))
        #expect(text == "0\n1\n2\n")
    }

    /// Limits are set by the child on itself before exec: in force from its first instruction.
    @Test func resourceLimitsAreInForceFromTheStart() throws {
        let limits = [
            UVProcess.ResourceLimit(resource: Int32(RLIMIT_AS.rawValue), soft: 512 << 20, hard: 512 << 20),
            UVProcess.ResourceLimit(resource: Int32(RLIMIT_CPU.rawValue), soft: 7, hard: UVProcess.ResourceLimit.unlimited),
        ]
        let (text, status) = try output(ofShell: "ulimit -v; ulimit -H -v; ulimit -t; ulimit -H -t", resourceLimits: limits)
        #expect(status == .exited(code: 0))
        #expect(text == "524288\n524288\n7\nunlimited\n")
    }

    /// Signal dispositions and the mask are the defaults in the child, also for signals this process ignores
    /// (SIGPIPE, a real-time one) or blocks.
    @Test func signalsAreResetInTheChild() throws {
        UVStream.ignoreBrokenPipeSignal()
        let realTime = __libc_current_sigrtmin() + 5
        let previous = signal(realTime, SIG_IGN)
        defer { signal(realTime, previous) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR2)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        defer { pthread_sigmask(SIG_UNBLOCK, &blocked, nil) }
        // grep reads its own status: it is what the shell exec'd, with what the shell got from us.
        let (text, _) = try output(ofShell: "exec grep -E '^Sig(Blk|Ign)' /proc/self/status")
        #expect(text == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
    }

    @Test func catEchoesStdinToStdoutAndEndsWithEOF() throws {
        let loop = try UVLoop()
        let stdin = try UVPipe(loop: loop)
        let stdout = try UVPipe(loop: loop)
        var status: ExitStatus?
        let process = try UVProcess.spawn(
            loop: loop, executable: "/bin/cat",
            stdio: [.createPipe(stdin, readable: true, writable: false),
                    .createPipe(stdout, readable: false, writable: true),
                    .inherit(fd: 2)]
        ) { process, exit in
            status = exit
            process.close()
        }
        #expect(process.pid > 0)
        #expect(stdin.isWritable && !stdin.isReadable)
        #expect(stdout.isReadable && !stdout.isWritable)
        let output = ReadCollector()
        try output.start(stdout)
        var writeResult: UVError?? = .none
        try stdin.write(Array("hello, worker\n".utf8)) { writeResult = .some($0) }
        try stdin.shutdown { _ in stdin.close() }
        runWithDeadline(loop)
        #expect(writeResult == .some(nil))
        #expect(output.text == "hello, worker\n")
        #expect(output.sawEOF)
        #expect(output.errors.isEmpty)
        #expect(status == .exited(code: 0))
        expectCleanClose(loop)
    }

    @Test func socketpairOnFd3IsBidirectional() throws {
        let loop = try UVLoop()
        let channel = try UVPipe(loop: loop, ipc: false)
        var status: ExitStatus?
        _ = try UVProcess.spawn(
            loop: loop, executable: "/bin/sh", arguments: ["-c", "cat <&3 >&3"],
            stdio: [.ignore, .ignore, .inherit(fd: 2), .createPipe(channel, readable: true, writable: true)]
        ) { process, exit in
            status = exit
            process.close()
        }
        #expect(channel.isReadable && channel.isWritable)
        let reply = ReadCollector()
        try reply.start(channel)
        let message = Array(repeating: Array("job 42 payload;".utf8), count: 1_000).flatMap { $0 }
        try channel.write(message)
        // Half-close: the child reads EOF on fd 3 while we can still read its echo.
        try channel.shutdown()
        runWithDeadline(loop)
        #expect(reply.bytes == message)
        #expect(reply.sawEOF)
        #expect(status == .exited(code: 0))
        expectCleanClose(loop)
    }

    @Test func environmentAndWorkingDirectoryAreApplied() throws {
        let loop = try UVLoop()
        let stdout = try UVPipe(loop: loop)
        _ = try UVProcess.spawn(
            loop: loop, executable: "sh", arguments: ["-c", "echo \"$SMRT_TEST:$(pwd):${HOME-unset}\""],
            environment: ["SMRT_TEST=42", "PATH=/usr/bin:/bin"], workingDirectory: "/tmp",
            stdio: [.ignore, .createPipe(stdout, readable: false, writable: true)]
        ) { process, _ in process.close() }
        let output = ReadCollector()
        try output.start(stdout)
        runWithDeadline(loop)
        #expect(output.text == "42:/tmp:unset\n")
        expectCleanClose(loop)
    }

    @Test func killDeliversSIGKILLAndIsHarmlessAfterExit() throws {
        let loop = try UVLoop()
        var status: ExitStatus?
        var killAfterExit: Bool?
        let process = try UVProcess.spawn(loop: loop, executable: "/bin/sleep", arguments: ["30"]) { process, exit in
            status = exit
            killAfterExit = try? process.kill(SIGTERM)
            process.close()
        }
        #expect(try process.kill(SIGKILL))
        runWithDeadline(loop)
        #expect(status == .signaled(signal: SIGKILL))
        #expect(status?.description == "killed by signal 9 (SIGKILL)")
        #expect(killAfterExit == false)
        #expect(process.exitStatus == status)
        #expect(try process.kill(SIGKILL) == false)
        expectCleanClose(loop)
    }

    @Test func invalidSignalNumberThrows() throws {
        let loop = try UVLoop()
        let process = try UVProcess.spawn(loop: loop, executable: "/bin/sleep", arguments: ["30"]) { process, _ in
            process.close()
        }
        #expect(throws: UVError(code: UVError.Code.EINVAL, operation: "pidfd_send_signal")) {
            try process.kill(12_345)
        }
        try process.kill(SIGKILL)
        runWithDeadline(loop)
        expectCleanClose(loop)
    }

    @Test func uidAndGidOptionsReachTheChild() throws {
        let loop = try UVLoop()
        let stdout = try UVPipe(loop: loop)
        var status: ExitStatus?
        // Switching to our own ids is allowed without privileges and exercises SETUID/SETGID.
        _ = try UVProcess.spawn(
            loop: loop, executable: "/bin/sh", arguments: ["-c", "echo $(id -u):$(id -g)"],
            stdio: [.ignore, .createPipe(stdout, readable: false, writable: true)],
            uid: getuid(), gid: getgid()
        ) { process, exit in
            status = exit
            process.close()
        }
        let output = ReadCollector()
        try output.start(stdout)
        runWithDeadline(loop)
        #expect(status == .exited(code: 0))
        #expect(output.text == "\(getuid()):\(getgid())\n")
        expectCleanClose(loop)
    }

    @Test func writingToAnExitedChildReportsEPIPEInsteadOfKillingUs() throws {
        UVStream.ignoreBrokenPipeSignal()
        let loop = try UVLoop()
        let stdin = try UVPipe(loop: loop)
        let retry = try UVTimer(loop: loop)
        var writeError: UVError?
        var attempts = 0
        // A child forked concurrently by another test (on another loop) can hold our socket's peer
        // until it execs, so an early write may still succeed; keep writing until EPIPE shows.
        func writeUntilRefused() {
            attempts += 1
            do {
                try stdin.write(Array("too late".utf8)) { error in
                    if let error {
                        writeError = error
                        stdin.close()
                        retry.close()
                    } else if attempts < 200 {
                        try? retry.start(timeoutMs: 5) { _ in writeUntilRefused() }
                    } else {
                        stdin.close()
                        retry.close()
                    }
                }
            } catch {
                writeError = error as? UVError
                stdin.close()
                retry.close()
            }
        }
        _ = try UVProcess.spawn(
            loop: loop, executable: "/bin/true", stdio: [.createPipe(stdin, readable: true, writable: false)]
        ) { process, _ in
            process.close()
            writeUntilRefused()
        }
        runWithDeadline(loop)
        #expect(writeError?.code == UVError.Code.EPIPE)
        expectCleanClose(loop)
    }

    @Test func residentMemoryOfLiveProcesses() throws {
        let own = ProcessStats.residentBytes(pid: getpid())
        #expect((own ?? 0) > 1_000_000)
        #expect((ProcessStats.residentMB(pid: getpid()) ?? 0) >= 1)
        #expect(ProcessStats.residentBytes(pid: Int32.max) == nil)
        #expect(ProcessStats.residentMB(pid: -1) == nil)

        let loop = try UVLoop()
        var childRSS: UInt64?
        let child = try UVProcess.spawn(loop: loop, executable: "/bin/sleep", arguments: ["30"]) { process, _ in
            process.close()
        }
        childRSS = ProcessStats.residentBytes(pid: child.pid)
        try child.kill(SIGKILL)
        runWithDeadline(loop)
        #expect((childRSS ?? 0) > 0)
        expectCleanClose(loop)
    }
}
