import Testing
@testable import SmrtSupervisor

/// When RUNs may be queued behind a worker's running job (`--pipeline`), without processes.
@Suite struct PipelinePolicyTests {
    @Test func aProtocol4WorkerGetsUpToSevenQueuedRunsByDefaultWhileJobsAreShort() {
        let policy = PipelinePolicy()
        #expect(policy.depth == 8)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true) == 7)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 8, jobsAreShort: true) == 0, "one running, seven queued")
    }

    /// Sized by time: about `queueAheadMs` (2 ms) of work queued behind the running job at the jobs' recent length,
    /// never fewer than one, never past the depth; so a job that turns out long has few waiting behind it.
    @Test func queuedWorkIsAboutTwoMillisecondsOfJobs() {
        let policy = PipelinePolicy(depth: 8)
        func slots(_ ms: Double, inFlight: Int = 1) -> Int {
            policy.queueSlots(protocolVersion: 4, inFlight: inFlight, jobsAreShort: true, recentJobMs: ms)
        }
        #expect(slots(0.05) == 7, "noops: the depth is the limit")
        #expect(slots(0.5) == 4, "4 × 0.5 ms")
        #expect(slots(0.5, inFlight: 3) == 2, "two of the four are in flight already")
        #expect(slots(0.7) == 2, "2 × 0.7 ms; a third would pass 2 ms")
        #expect(slots(1.5) == 1)
        #expect(slots(30) == 1, "at least one while jobs are short")
        #expect(PipelinePolicy(depth: 1).queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true, recentJobMs: 0.01) == 0)
        #expect(PipelinePolicy(depth: 3).queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true, recentJobMs: 0.01) == 2)
    }

    @Test func idleWorkersAreOfferedJobsAsIdleNotAsQueueSlots() {
        #expect(PipelinePolicy(depth: 4).queueSlots(protocolVersion: 4, inFlight: 0, jobsAreShort: true) == 0)
    }

    @Test(arguments: [UInt16(1), 2, 3])
    func earlierVersionsTakeOneRunAtATime(_ version: UInt16) {
        #expect(PipelinePolicy(depth: 8).queueSlots(protocolVersion: version, inFlight: 1, jobsAreShort: true) == 0)
    }

    /// A long job never has another waiting behind it.
    @Test func nothingIsQueuedWhileJobsAreLong() {
        #expect(PipelinePolicy(depth: 8).queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: false) == 0)
    }

    @Test func depthOneIsOneAtATime() {
        #expect(PipelinePolicy(depth: 1).queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true) == 0)
        #expect(PipelinePolicy(depth: 0).depth == 1, "never below one")
    }

    @Test func deeperPipelinesFillUpToTheDepth() {
        let policy = PipelinePolicy(depth: 4)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true) == 3)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 3, jobsAreShort: true) == 1)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 5, jobsAreShort: true) == 0)
    }

    /// `--max-jobs-per-worker`: never more RUNs than the jobs the worker has left.
    @Test func neverPastTheJobsLeftBeforeRecycling() {
        let policy = PipelinePolicy(depth: 4)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true, jobsLeft: 2) == 1)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true, jobsLeft: 1) == 0)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 2, jobsAreShort: true, jobsLeft: 1) == 0)
    }

    /// Behind a job being stopped (CANCEL, a kill) its worker may be about to die: nothing more is queued.
    @Test func nothingIsQueuedBehindAJobBeingStopped() {
        #expect(PipelinePolicy(depth: 4).queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true, headStopping: true) == 0)
    }
}
