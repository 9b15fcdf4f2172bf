import Foundation

#if canImport(Glibc)
import Glibc
import SmrtJobs
#endif

// MARK: Clocks

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// CLOCK_REALTIME in nanoseconds (comparable across processes on this machine).
@inline(__always)
func realtimeNs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func sleepMs(_ ms: Double) {
    if ms <= 0 { return }
    usleep(useconds_t(ms * 1000))
}

// MARK: Statistics

/// Nearest-rank percentile (p in 0...100) of unsorted samples; nil when empty.
func percentile(_ samples: [Double], _ p: Double) -> Double? {
    if samples.isEmpty { return nil }
    let sorted = samples.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

// MARK: Progress

/// Phase progress on stderr, one line each, with the time since the bench started.
enum Progress {
    nonisolated(unsafe) static var startNs = monotonicNs()

    static func say(_ text: String) {
        let elapsed = Double(monotonicNs() - startNs) / 1e9
        let line = String(format: "[%6.1fs] ", elapsed) + text + "\n"
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

// MARK: Formatting

func formatNumber(_ value: Double) -> String {
    if value.isNaN || value.isInfinite { return String(value) }
    if abs(value) >= 1000 {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value.rounded())) ?? String(Int(value))
    }
    if abs(value) >= 100 || value == value.rounded() { return String(format: "%.0f", value) }
    if abs(value) >= 10 { return String(format: "%.1f", value) }
    return String(format: "%.2f", value)
}

// MARK: Files

func readFile(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return String(decoding: data, as: UTF8.self)
}

/// Makes a fresh private directory under $TMPDIR (or /tmp).
func makeTempDir(prefix: String) throws -> String {
    let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
    guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw BenchError("mkdtemp in \(base) failed: \(String(cString: strerror(errno)))")
    }
    return String(cString: result)
}

/// Removes a database file and its WAL/SHM companions.
func removeDatabase(_ path: String) {
    for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
}

/// Writes a file's cached pages to disk (fsync): a file just written or copied is otherwise written back while
/// the next measurement runs, by the kernel or by the first fsync of whoever opens it next.
func syncToDisk(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw BenchError("open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw BenchError("fsync \(path): \(String(cString: strerror(errno)))") }
}

/// The running executable's path.
func selfExecutablePath() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    return CommandLine.arguments[0]
}

// MARK: Ordered JSON

/// A small JSON value that keeps object keys in insertion order, for a stable, readable report file.
indirect enum JSONOut {
    case number(Double)
    case int(Int64)
    case string(String)
    case bool(Bool)
    case null
    case object([(String, JSONOut)])
    case array([JSONOut])

    func render(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        let inner = String(repeating: "  ", count: indent + 1)
        switch self {
        case .number(let d):
            if d.isNaN || d.isInfinite { return "null" }
            if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
            return "\((d * 10_000).rounded() / 10_000)"
        case .int(let i): return String(i)
        case .string(let s): return JSONOut.quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + $0.render(indent: indent + 1) }.joined(separator: ",\n") + "\n\(pad)]"
        case .object(let fields):
            if fields.isEmpty { return "{}" }
            return "{\n"
                + fields.map { inner + JSONOut.quote($0.0) + ": " + $0.1.render(indent: indent + 1) }
                    .joined(separator: ",\n") + "\n\(pad)}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = ""
        JSONValue.appendQuoted(s, to: &out)
        return out
    }

    /// Sets `value` at a dotted path, creating nested objects as needed.
    mutating func set(_ path: String, _ value: JSONOut) {
        set(path.split(separator: ".").map(String.init)[...], value)
    }

    private mutating func set(_ path: ArraySlice<String>, _ value: JSONOut) {
        guard let head = path.first else { self = value; return }
        guard case .object(var fields) = self else {
            self = .object([])
            return set(path, value)
        }
        if let i = fields.firstIndex(where: { $0.0 == head }) {
            var child = fields[i].1
            child.set(path.dropFirst(), value)
            fields[i].1 = child
        } else {
            var child = JSONOut.object([])
            child.set(path.dropFirst(), value)
            fields.append((head, child))
        }
        self = .object(fields)
    }
}
