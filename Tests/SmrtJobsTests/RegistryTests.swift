import Foundation
import Testing
@testable import SmrtJobs

private final class Counter: @unchecked Sendable {
    var config: [String: JSONValue]?
    let id: String?
    init(id: String? = nil, config: [String: JSONValue]? = nil) {
        self.id = id
        self.config = config
    }
}

private struct AddArgs: Codable { var a: Int; var b: Int }

@Suite struct RegistryTests {
    private func makeRegistry(maxResultBytes: Int = 1 << 20) -> ObjectRegistry {
        let registry = ObjectRegistry(maxResultBytes: maxResultBytes)
        registry.register(Counter.self, construct: { Counter(config: $0) }, load: { id, config in
            id == "missing" ? nil : Counter(id: id, config: config)
        })
        .method("add") { (_: Counter, args: AddArgs) in args.a + args.b }
        .method("whoami") { (counter: Counter, _: NoArgs) in counter.id ?? "static" }
        .method("config", raw: { counter, args in
            .object(["config": counter.config.map(JSONValue.object) ?? .null, "args": .object(args)])
        })
        .method("nothing") { (_: Counter, _: NoArgs) in }
        .method("big", raw: { _, _ in .string(String(repeating: "x", count: 100)) })
        return registry
    }

    @Test func callsTypedMethodWithDecodedArgs() async throws {
        let result = try await makeRegistry().invoke(Invocation(objectType: "Counter", method: "add", args: ["a": 2, "b": 40]))
        #expect(result == .int(42))
    }

    @Test func loadsObjectBoundTargetsAndConstructsStaticOnes() async throws {
        let registry = makeRegistry()
        #expect(try await registry.invoke(Invocation(objectType: "Counter", objectId: "c-1", method: "whoami")) == "c-1")
        #expect(try await registry.invoke(Invocation(objectType: "Counter", method: "whoami")) == "static")
        #expect(try await registry.invoke(Invocation(objectType: "Counter", method: "nothing")) == nil)
    }

    @Test func stripsReservedArgsAndPassesAgentConfigToConstruct() async throws {
        let result = try await makeRegistry().invoke(Invocation(
            objectType: "Counter", method: "config",
            args: ["x": 1, "_scheduleId": 7, "_agentConfig": ["model": "small"]]))
        #expect(result == ["config": ["model": "small"], "args": ["x": 1]])
    }

    @Test func unknownTypeMethodAndTargetAreClearErrors() async throws {
        let registry = makeRegistry()
        await #expect(throws: JobExecutionError.unknownObjectType("Nope")) {
            try await registry.invoke(Invocation(objectType: "Nope", method: "add"))
        }
        await #expect(throws: JobExecutionError.methodNotFound(type: "Counter", method: "explode")) {
            try await registry.invoke(Invocation(objectType: "Counter", method: "explode"))
        }
        await #expect(throws: JobExecutionError.targetNotFound(type: "Counter", id: "missing")) {
            try await registry.invoke(Invocation(objectType: "Counter", objectId: "missing", method: "whoami"))
        }
        #expect(JobExecutionError.unknownObjectType("Nope").description == "Unknown object type: Nope")
        #expect(JobExecutionError.methodNotFound(type: "T", method: "m").description == "Method not found: T.m")
        #expect(JobExecutionError.targetNotFound(type: "T", id: "9").description == "Object-bound job target not found: T#9")
    }

    @Test func badArgumentsNameTheKey() async throws {
        do {
            _ = try await makeRegistry().invoke(Invocation(objectType: "Counter", method: "add", args: ["a": 1]))
            Issue.record("expected an error")
        } catch let error as JobExecutionError {
            #expect(error.description == "Invalid arguments for Counter.add: missing argument 'b'")
        }
    }

    @Test func resultsOverTheLimitFail() async throws {
        let registry = makeRegistry(maxResultBytes: 50)
        await #expect(throws: JobExecutionError.resultTooLarge(bytes: 102, limit: 50)) {
            try await registry.invoke(Invocation(objectType: "Counter", method: "big"))
        }
    }

    @Test func listsTypesAndMethods() {
        let registry = makeRegistry()
        #expect(registry.typeNames == ["Counter"])
        #expect(registry.methodNames(of: "Counter") == ["add", "big", "config", "nothing", "whoami"])
        #expect(registry.canRun(typeName: "Counter", method: "add"))
        #expect(!registry.canRun(typeName: "Counter", method: "rm"))
    }
}
