import Foundation
import SmrtJobs

/// Reads `enqueue --batch` files: JSON Lines, one job object per line (see `JobSpec.init(jsonObject:)`).
enum BatchFile {
    /// Reads and parses the whole file (`-` = stdin) before anything is written.
    static func read(_ path: String, now: Date) throws -> [JobSpec] {
        let source = path == "-" ? "stdin" : path
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let contents = FileManager.default.contents(atPath: path)
            else {
                throw CLIError("cannot read batch file '\(path)': no such file or not readable")
            }
            data = contents
        }
        return try parse(data, source: source, now: now)
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
