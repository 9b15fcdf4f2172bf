import Foundation

/// The types and methods that jobs may run. Nothing else ever runs: a job names a registered type and
/// method, never code.
///
/// ```swift
/// let registry = ObjectRegistry()
/// registry.register(Document.self,
///                   construct: { _ in Document() },
///                   load: { id, _ in try await Document.find(id) })
///     .method("generateSummary") { (doc, args: SummaryArgs) in try await doc.generateSummary(args) }
/// ```
public final class ObjectRegistry: @unchecked Sendable {  // `entries` is guarded by `lock`
    /// How an object is obtained: constructed for static jobs, loaded by id for object-bound jobs.
    struct TypeEntry {
        var construct: @Sendable (_ config: [String: JSONValue]?) async throws -> Any
        var load: (@Sendable (_ id: String, _ config: [String: JSONValue]?) async throws -> Any?)?
        var methods: [String: @Sendable (Any, [String: JSONValue]) async throws -> JSONValue?] = [:]
    }

    private let lock = NSLock()
    private var entries: [String: TypeEntry] = [:]

    /// Results larger than this (as JSON text, in bytes) fail the job with a clear error. Default 1 MiB.
    public let maxResultBytes: Int

    public init(maxResultBytes: Int = 1 << 20) {
        self.maxResultBytes = maxResultBytes
    }

    /// Registers `type` under `name` (default: the type's name). Add methods on the returned registration.
    /// - Parameters:
    ///   - construct: makes an object for a static job (objectId nil); gets `_agentConfig` if the job has one.
    ///   - load: finds the object of an object-bound job by id; nil means "not found". Without it,
    ///     object-bound jobs of this type fail with "target not found".
    @discardableResult
    public func register<Object>(
        _ type: Object.Type, as name: String? = nil,
        construct: @escaping @Sendable (_ config: [String: JSONValue]?) async throws -> Object,
        load: (@Sendable (_ id: String, _ config: [String: JSONValue]?) async throws -> Object?)? = nil
    ) -> Registration<Object> {
        let typeName = name ?? String(describing: type)
        let entry = TypeEntry(
            construct: { try await construct($0) },
            load: load.map { load in { @Sendable id, config in try await load(id, config) } })
        lock.withLock { entries[typeName] = entry }
        return Registration(registry: self, typeName: typeName)
    }

    func addMethod(
        typeName: String, name: String, body: @escaping @Sendable (Any, [String: JSONValue]) async throws -> JSONValue?
    ) {
        lock.withLock { entries[typeName]?.methods[name] = body }
    }

    /// The registered type names, sorted.
    public var typeNames: [String] { lock.withLock { entries.keys.sorted() } }

    /// The methods of a registered type, sorted (empty for an unknown type).
    public func methodNames(of typeName: String) -> [String] {
        lock.withLock { entries[typeName]?.methods.keys.sorted() ?? [] }
    }

    /// Whether `typeName.method` may run.
    public func canRun(typeName: String, method: String) -> Bool {
        lock.withLock { entries[typeName]?.methods[method] != nil }
    }

    /// Resolves the type, obtains the object, calls the method with the reserved keys stripped, and
    /// returns its result as JSON. Throws `JobExecutionError` when the job cannot run at all, or whatever
    /// the method throws.
    public func invoke(_ invocation: Invocation) async throws -> JSONValue? {
        guard let entry = lock.withLock({ entries[invocation.objectType] }) else {
            throw JobExecutionError.unknownObjectType(invocation.objectType)
        }
        guard let method = entry.methods[invocation.method] else {
            throw JobExecutionError.methodNotFound(type: invocation.objectType, method: invocation.method)
        }
        let config = invocation.agentConfig
        let object: Any
        if let id = invocation.objectId {
            guard let load = entry.load, let loaded = try await load(id, config) else {
                throw JobExecutionError.targetNotFound(type: invocation.objectType, id: id)
            }
            object = loaded
        } else {
            object = try await entry.construct(config)
        }
        let result = try await method(object, invocation.methodArgs)
        if let result {
            let bytes = result.jsonText.utf8.count
            if bytes > maxResultBytes {
                throw JobExecutionError.resultTooLarge(bytes: bytes, limit: maxResultBytes)
            }
        }
        return result
    }
}
