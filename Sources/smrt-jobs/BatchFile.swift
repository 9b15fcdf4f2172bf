import Foundation
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads `enqueue --batch` files: JSON Lines, one job object per line (see `JobSpec.init(jsonObject:)`).
enum BatchFile {
    /// Reads and parses the whole file (`-` = stdin) before anything is written. Anything that can be read to
    /// its end works: a regular file, stdin, a FIFO, `/dev/stdin`, a shell's `<(...)`.
    static func read(_ path: String, now: Date) throws -> [JobSpec] {
        let source = path == "-" ? "stdin" : path
        let data = path == "-" ? try readAll(fd: STDIN_FILENO, source: source) : try readFile(path)
        return try parse(data, source: source, now: now)
    }

    /// The whole file, read with `read(2)`: FileManager only reads what `stat` says is there, nothing from a
    /// pipe or a FIFO.
    private static func readFile(_ path: String) throws -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(path, errno) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { throw failure(path, EISDIR) }
        return try readAll(fd: fd, source: path)
    }

    /// Everything up to end of file from `fd` (left open).
    private static func readAll(fd: Int32, source: String) throws -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { readBytes(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                data.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return data
            } else if errno != EINTR {
                throw failure(source, errno)
            }
        }
    }

    /// `cannot read batch file 'jobs.jsonl': Permission denied` (or stdin's own).
    private static func failure(_ source: String, _ error: Int32) -> CLIError {
        let reason = String(cString: strerror(error))
        if source == "stdin" { return CLIError("cannot read the batch from stdin: \(reason)") }
        return CLIError("cannot read batch file '\(source)': \(reason)")
    }

    /// Blank lines are skipped; the first bad line rejects the whole file.
    static func parse(_ data: Data, source: String, now: Date) throws -> [JobSpec] {
        var specs: [JobSpec] = []
        for (index, bytes) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            do {
                guard let text = String(data: Data(bytes), encoding: .utf8) else {
                    throw JobSpecDecodingError(line: number, key: nil, message: "not UTF-8 text")
                }
                let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if line.isEmpty { continue }
                let object: [String: JSONValue]
                do {
                    object = try JSONValue.parseObject(line, what: "the job object")
                } catch let error as SmrtJobsError {
                    throw JobSpecDecodingError(line: number, key: nil, message: error.description)
                }
                specs.append(try JobSpec(jsonObject: object, lineNumber: number, now: now))
            } catch let error as JobSpecDecodingError {
                throw CLIError("\(source): \(error) (nothing was enqueued)")
            }
        }
        return specs
    }
}

/// `read(2)`, under a name the `BatchFile.read` method does not shadow.
private func readBytes(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
