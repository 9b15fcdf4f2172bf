import Testing

/// One named behaviour of `StoreConformance`, run against the stores of a `StoreFactory`.
public struct ConformanceCheck: Sendable, CustomTestStringConvertible {
    public let name: String
    private let body: @Sendable (StoreFactory) throws -> Void

    public init(_ name: String, _ body: @escaping @Sendable (StoreFactory) throws -> Void) {
        self.name = name
        self.body = body
    }

    /// Runs the check on fresh databases of `factory`; failures are recorded as issues of the running test.
    public func run(_ factory: StoreFactory) throws {
        try body(factory)
    }

    public var testDescription: String { name }
}
