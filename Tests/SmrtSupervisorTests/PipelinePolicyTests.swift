import Testing
@testable import SmrtSupervisor

/// When RUNs may be queued behind a worker's running job (`--pipeline`), without processes.
@Suite struct PipelinePolicyTests {
    @Test func aProtocol4WorkerGetsOneQueuedRunByDefaultWhileJobsAreShort() {
        let policy = PipelinePolicy()
        #expect(policy.depth == 2)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 1, jobsAreShort: true) == 1)
        #expect(policy.queueSlots(protocolVersion: 4, inFlight: 2, jobsAreShort: true) == 0, "one running, one queued")
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
