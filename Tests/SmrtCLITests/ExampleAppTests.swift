import Foundation
import Testing

/// The example apps under examples/ build and do what their comments (and the README) say.
@Suite("CLI example apps") struct ExampleAppTests {
    @Test func inProcessExampleRunsBackgroundJobsAndReturnsResults() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-example-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CLI.run(
            ["--db", directory.appendingPathComponent("jobs.sqlite").path],
            binary: CLI.productsFolder.appendingPathComponent("smrt-inprocess-example").path)
        #expect(result.status == 0, "\(result)")
        #expect(result.lines == [
            "job 1 Document#doc-1.generateSummary() completed: 4 words (md)",
            "job 2 Document#doc-2.generateSummary() completed: 6 words (txt)",
            "job 3 Document#doc-404.generateSummary() failed: Object-bound job target not found: Document#doc-404",
        ])
    }
}
