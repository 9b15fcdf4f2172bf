import SmrtJobs

/// Decides how many jobs to claim, which claimed jobs go to idle workers and which are held, and what the next
/// group commit carries. A value type with no processes, timers or database: the supervisor feeds it events
/// and carries out what it returns, and its decisions are unit-tested on their own.
///
/// - Claims: enough for the idle workers, minus what is already asked for. While jobs are short (the last one
///   took less than `shortJobMs`, 50 ms by default: jobs flow fast enough for the database round trip to matter)
///   it tops up the held jobs to about `holdAheadMs` of work per running worker (`prefetchPerWorker`, at most
///   `prefetch`), so a worker that answers gets its next job from memory while the next claim is on its way. Longer
///   jobs are never claimed ahead: held behind them, jobs would wait, be released at the poll, and be claimed again
///   (churn).
/// - Held jobs are handed out oldest first, before anything new is claimed: to idle workers first, then to the queue
///   slots of busy workers of protocol 4 (`PipelinePolicy`), for which nothing is claimed; those held longer than the
///   poll interval go back to pending (attempt not counted).
/// - Urgency: a claim that a worker waits for (an idle worker, or fewer held jobs than running workers) commits
///   at once; otherwise it may wait for the group-commit window with the results.
/// - The outbox: finished attempts gathered during one loop iteration, committed together with the claim.
struct ClaimPlanner {
    /// A job claimed ahead, waiting for a worker.
    struct HeldJob {
        var job: SmrtJob
        /// When it was claimed (`Monotonic.nanos`).
        var claimedAt: UInt64
    }

    /// What the next group commit carries.
    struct Commit {
        var finishes: [DatabaseThread.PendingFinish]
        var claim: Int
        /// A worker waits for the claim: commit without waiting for the group-commit window.
        var urgent: Bool
    }

    /// An attempt that took less than this many ms is short (`SupervisorConfiguration.shortJobMs`).
    let shortJobMs: Double

    /// How much work to hold per running worker while short jobs flow: enough to cover a group commit's round trip
    /// (the commit window, the transaction, the hop back to the loop) at full speed, so workers do not wait for a
    /// claim, and little enough that held jobs wait only milliseconds (sized by time, not count: 20 ms is 64 noops
    /// or a single 20 ms job per worker).
    static let holdAheadMs = 20.0

    /// Jobs per running worker to keep in hand while short jobs flow (0: claim only for idle workers).
    let prefetch: Int
    /// Jobs claimed ahead, oldest first.
    private(set) var held: [HeldJob] = []
    /// Jobs asked of the database whose reply has not come back (including `unsentClaim`).
    private(set) var inFlightClaims = 0
    /// Jobs asked for during this loop iteration, not yet handed to the database thread.
    private(set) var unsentClaim = 0
    private(set) var urgent = false
    private(set) var outbox: [DatabaseThread.PendingFinish] = []
    /// The attempt that ended last took less than `shortJobMs`.
    private(set) var jobsAreShort = false
    /// A short job ended since a worker last became idle (used once, by `topUpWhenIdle`).
    private var shortJobEnded = false
    /// How long short attempts take, smoothed over the last few (ms); nil until one ended.
    private(set) var recentJobMs: Double?

    init(prefetch: Int, shortJobMs: Double = SupervisorConfiguration.defaultShortJobMs) {
        self.prefetch = prefetch
        self.shortJobMs = shortJobMs
    }

    /// Hands held jobs to idle workers, then to `queueSlots` slots behind running jobs (the returned jobs go to the
    /// idle workers first, then to the slots, in order), then asks for more: one per idle worker left, and with
    /// `topUp` enough to hold `prefetch` per running worker. Queue slots are filled from held jobs only.
    mutating func plan(idleWorkers: Int, queueSlots: Int = 0, runningWorkers: Int, topUp: Bool) -> [SmrtJob] {
        let handOut = min(held.count, idleWorkers + queueSlots)
        let dispatched = held.prefix(handOut).map(\.job)
        held.removeFirst(handOut)
        let idle = idleWorkers - min(handOut, idleWorkers)
        var want = idle - inFlightClaims
        var ready = 0
        if topUp && prefetch > 0 {
            ready = runningWorkers
            want = max(want, idle + prefetchPerWorker * ready - held.count - inFlightClaims)
        }
        if want > 0 {
            inFlightClaims += want
            unsentClaim += want
            if idle > 0 || held.count < ready { urgent = true }
        }
        return dispatched
    }

    /// A claim came back with `jobs` of the `asked`: the returned jobs go to the first idle workers, in order,
    /// and the rest are held (queue slots are filled from them next). `claimMore`: the claim was full, so more may be
    /// ready (plan again, with `topUp` while `jobsAreShort`).
    mutating func received(_ jobs: [SmrtJob], asked: Int, idleWorkers: Int, now: UInt64) -> (run: [SmrtJob], claimMore: Bool) {
        inFlightClaims -= asked
        held.append(contentsOf: jobs.map { HeldJob(job: $0, claimedAt: now) })
        let handOut = min(held.count, idleWorkers)
        let run = held.prefix(handOut).map(\.job)
        held.removeFirst(handOut)
        return (run, jobs.count == asked)
    }

    /// A claim failed (the poll asks again later), or came back after claiming stopped.
    mutating func claimAbandoned(asked: Int) {
        inFlightClaims -= asked
    }

    /// An attempt ended after `durationMs`.
    mutating func attemptEnded(durationMs: Double) {
        jobsAreShort = durationMs < shortJobMs
        shortJobEnded = jobsAreShort
        if jobsAreShort { recentJobMs = recentJobMs.map { $0 * 0.75 + durationMs * 0.25 } ?? durationMs }
    }

    /// Jobs to hold per running worker while short jobs flow: about `holdAheadMs` of them at their recent length, at
    /// least one and at most `prefetch` (all of `prefetch` before any job ended).
    var prefetchPerWorker: Int {
        guard prefetch > 0, let recentJobMs else { return prefetch }
        return Self.jobs(lasting: recentJobMs, toFill: Self.holdAheadMs, atMost: prefetch)
    }

    /// How many jobs of `jobMs` each fill `budgetMs`: at least one, at most `limit`.
    static func jobs(lasting jobMs: Double, toFill budgetMs: Double, atMost limit: Int) -> Int {
        let fit = budgetMs / max(jobMs, 0.001)
        return fit >= Double(limit) ? limit : max(1, min(limit, Int(fit)))
    }

    /// Whether a worker that just became idle should top up the held jobs: only right after a short job it ran
    /// (not after HELLO, not after a long job).
    mutating func topUpWhenIdle(workerRanJobs: Bool) -> Bool {
        defer { shortJobEnded = false }
        return workerRanJobs && shortJobEnded
    }

    /// Queues a finished attempt for the next commit.
    mutating func record(_ finish: DatabaseThread.PendingFinish) {
        outbox.append(finish)
    }

    /// What to commit now (results and claim), or nil when there is nothing; empties both.
    mutating func takeCommit() -> Commit? {
        guard !outbox.isEmpty || unsentClaim > 0 else { return nil }
        defer {
            outbox.removeAll(keepingCapacity: true)
            unsentClaim = 0
            urgent = false
        }
        return Commit(finishes: outbox, claim: unsentClaim, urgent: urgent)
    }

    /// Held jobs claimed at or before `cutoff` (`Monotonic.nanos`), or all of them with nil: taken out, to be
    /// released.
    mutating func takeHeld(claimedAtOrBefore cutoff: UInt64?) -> [SmrtJob] {
        guard let cutoff else {
            defer { held.removeAll() }
            return held.map(\.job)
        }
        let count = held.prefix { $0.claimedAt <= cutoff }.count
        defer { held.removeFirst(count) }
        return held.prefix(count).map(\.job)
    }

    /// Claiming stops (shutdown): the claim not yet sent is dropped, held jobs are taken out to be released.
    mutating func stop() -> [SmrtJob] {
        inFlightClaims -= unsentClaim
        unsentClaim = 0
        urgent = false
        return takeHeld(claimedAtOrBefore: nil)
    }
}
