import Foundation

/// A fresh directory under the system temp directory, for the files of one test's database; `remove()`
/// deletes it with everything in it.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    /// Creates `<temp>/<prefix>-<pid>-<uuid>`.
    public init(prefix: String = "smrt-jobs-test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}
