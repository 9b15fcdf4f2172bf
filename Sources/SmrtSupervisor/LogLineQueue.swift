/// The log lines waiting for the log writer's thread (`LogWriter`): bounded in bytes, whole lines in the order
/// they came, and a count of the lines that did not fit.
///
/// A line that does not fit is dropped whole (never cut) and counted. Expendable lines (what workers print) may
/// fill only `expendableShare` of the queue, so a flood of worker output leaves room for the supervisor's own
/// lines (a kill, a failed job). Dropped lines are reported by one `.dropped` entry at the end of what the writer
/// takes next: one notice per stall, written as soon as the writer gets through again.
struct LogLineQueue {
    enum Entry: Equatable {
        case line([UInt8])
        /// This many lines were dropped because the queue was full.
        case dropped(count: Int)
    }

    /// The most bytes of lines held at once.
    let capacityBytes: Int
    /// The most bytes of expendable lines held at once.
    let expendableCapacityBytes: Int
    /// Bytes of the lines held now.
    private(set) var queuedBytes = 0
    /// Lines dropped since the writer last took the queue.
    private(set) var pendingDrops = 0
    /// Every line dropped so far.
    private(set) var droppedTotal = 0
    private var entries: [Entry] = []

    /// The part of the queue expendable lines may fill.
    static let expendableShare = 0.75

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
        expendableCapacityBytes = Int(Double(capacityBytes) * Self.expendableShare)
    }

    /// Nothing to write: no line and no drop to report.
    var isEmpty: Bool { entries.isEmpty && pendingDrops == 0 }

    /// Queues `line` if it fits (an expendable one within its share); otherwise counts it as dropped and returns
    /// false.
    @discardableResult
    mutating func append(_ line: [UInt8], expendable: Bool = false) -> Bool {
        let limit = expendable ? expendableCapacityBytes : capacityBytes
        guard line.count <= limit - queuedBytes else {
            pendingDrops += 1
            droppedTotal += 1
            return false
        }
        entries.append(.line(line))
        queuedBytes += line.count
        return true
    }

    /// Everything queued, in order, then a `.dropped` entry if lines were dropped since the last take; leaves the
    /// queue empty.
    mutating func takeAll() -> [Entry] {
        var taken: [Entry] = []
        swap(&taken, &entries)
        queuedBytes = 0
        if pendingDrops > 0 {
            taken.append(.dropped(count: pendingDrops))
            pendingDrops = 0
        }
        return taken
    }
}
