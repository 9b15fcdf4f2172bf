import Foundation

/// A registered type; add the methods jobs may call on it.
public struct Registration<Object>: Sendable {
    let registry: ObjectRegistry
    /// The name jobs use as `objectType`.
    public let typeName: String

    /// A method with typed arguments decoded from the job's args, and a JSON-encodable result.
    @discardableResult
    public func method<Args: Decodable & SendableMetatype, Result: Encodable & SendableMetatype>(
        _ name: String, _ body: @escaping @Sendable (Object, Args) async throws -> Result
    ) -> Registration {
        let typeName = self.typeName
        registry.addMethod(typeName: typeName, name: name) { object, args in
            let decoded: Args
            do {
                decoded = try JSONValueCoding.decode(Args.self, from: .object(args))
            } catch {
                throw JobExecutionError.invalidArguments(type: typeName, method: name, reason: JSONValueCoding.describe(error))
            }
            let result = try await body(object as! Object, decoded)
            do {
                return try JSONValueCoding.encode(result)
            } catch {
                throw JobExecutionError.resultNotEncodable(type: typeName, method: name, reason: "\(error)")
            }
        }
        return self
    }

    /// A method with typed arguments and no result.
    @discardableResult
    public func method<Args: Decodable & SendableMetatype>(
        _ name: String, _ body: @escaping @Sendable (Object, Args) async throws -> Void
    ) -> Registration {
        method(name) { (object: Object, args: Args) -> JSONValue? in
            try await body(object, args)
            return nil
        }
    }

    /// A method that takes the job's args as raw JSON and returns raw JSON (nil for no result).
    @discardableResult
    public func method(
        _ name: String, raw body: @escaping @Sendable (Object, [String: JSONValue]) async throws -> JSONValue?
    ) -> Registration {
        registry.addMethod(typeName: typeName, name: name) { object, args in
            try await body(object as! Object, args)
        }
        return self
    }
}

/// No arguments: decodes from any args object, so `method("run") { (obj, _: NoArgs) in ... }` works.
public struct NoArgs: Codable, Sendable, Equatable {
    public init() {}
}
