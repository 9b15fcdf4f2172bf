import Foundation
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

/// Unique jobs through the app API: `JobBuilder.unique`, `bg(uniqueKey:)`, `JobHandle.existing`, and the batch
/// file field.
@Suite struct JobQueueUniqueTests {
    @Test func builderAndBgReturnTheExistingJob() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let doc = QueueTestDocument(id: 7, jobQueue: queue)
            let first = try await doc.background("reindex").unique("doc-7").enqueue()
            #expect(!first.existing)
            #expect(try await first.job().uniqueKey == "doc-7")
            let again = try await doc.bg("reindex", priority: "high", uniqueKey: "doc-7")
            #expect(again.existing && again.id == first.id)
            #expect(try await again.job().priority == Priority.normal.rawValue)

            // Finished: free again, unless a window covers it.
            _ = try await first.cancel()
            let windowed = try await doc.background("reindex").unique("doc-7", for: .hours(1)).enqueue()
            #expect(windowed.existing && windowed.id == first.id)
            let fresh = try await doc.background("reindex").unique("doc-7").enqueue()
            #expect(!fresh.existing && fresh.id != first.id)

            // Batches: a repeated key resolves to the first one's handle.
            let handles = try await queue.enqueue(batch: [
                doc.background("a").unique("k"), doc.background("b"), doc.background("c").unique("k"),
                doc.background("d").unique("doc-7"),
            ])
            #expect(handles.map(\.existing) == [false, false, true, true])
            #expect(handles[2].id == handles[0].id && handles[3].id == fresh.id)
        }
    }

    @Test func badKeysAndWindowsNameTheField() async throws {
        try await QueueFixture.run { f in
            let builder = try await f.makeQueue().background("Doc", "run")
            #expect(throws: SmrtJobsError.invalidValue(field: "uniqueKey", value: "", reason: "must not be empty")) {
                try builder.unique("")
            }
            #expect(throws: SmrtJobsError.self) { try builder.unique(String(repeating: "x", count: 256)) }
            #expect(throws: SmrtJobsError.invalidValue(field: "uniqueWindow", value: "-5", reason: "must be zero or positive")) {
                try builder.unique("k", for: -5)
            }
            #expect(try builder.unique("k", for: "1h").spec.uniqueWindow == 3_600_000)
            #expect(try builder.unique("k", for: .minutes(2)).spec.uniqueWindow == 120_000)
        }
    }

    @Test func jobObjectsReadUniqueKeyAndWindow() throws {
        let spec = try JobSpec(
            jsonObject: JSONValue.parseObject(#"{"objectType":"Doc","method":"run","uniqueKey":"k","uniqueWindow":"30m"}"#))
        #expect(spec.uniqueKey == "k" && spec.uniqueWindow == 1_800_000)
        #expect(throws: JobSpecDecodingError.self) {
            try JobSpec(jsonObject: JSONValue.parseObject(#"{"objectType":"Doc","method":"run","uniqueKey":""}"#))
        }
        #expect(throws: JobSpecDecodingError.self) {
            try JobSpec(jsonObject: JSONValue.parseObject(#"{"objectType":"Doc","method":"run","uniqueWindow":1000}"#))
        }
        #expect(throws: JobSpecDecodingError.self) {
            try JobSpec(jsonObject: JSONValue.parseObject(#"{"objectType":"Doc","method":"run","uniqueKey":5}"#))
        }
    }
}
