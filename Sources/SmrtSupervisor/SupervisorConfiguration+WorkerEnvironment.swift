/// The environment workers start with (`--worker-env`, `--worker-clear-env`).
extension SupervisorConfiguration {
    /// `PATH` of workers started from a cleared environment when the supervisor itself has none.
    public static let defaultWorkerPath = "/usr/local/bin:/usr/bin:/bin"

    /// The workers' environment as sorted `"KEY=value"` strings, or nil when it is exactly `supervisorEnvironment`
    /// (nothing cleared or added).
    ///
    /// Without `clearWorkerEnvironment`: `supervisorEnvironment`, with `environment` on top. With it: `PATH` (from
    /// `supervisorEnvironment`, else `defaultWorkerPath`: a worker command without a slash is looked up in it,
    /// and so are the programs a job starts), then the `passedEnvironment` names the supervisor has, then
    /// `environment`. An explicit value wins over a passed one.
    public func workerEnvironment(supervisorEnvironment: [String: String]) -> [String]? {
        if !clearWorkerEnvironment && environment.isEmpty { return nil }
        var result = clearWorkerEnvironment ? ["PATH": supervisorEnvironment["PATH"] ?? Self.defaultWorkerPath] : supervisorEnvironment
        for name in passedEnvironment {
            if let value = supervisorEnvironment[name] { result[name] = value }
        }
        result.merge(environment) { _, explicit in explicit }
        return result.map { "\($0.key)=\($0.value)" }.sorted()
    }

    /// Names are non-empty and hold no `=` or NUL; values hold no NUL. Errors name the variable, never its value.
    func validateWorkerEnvironment() throws {
        func fail(_ reason: String) -> SupervisorError { .invalidConfiguration(option: "--worker-env", reason: reason) }
        for name in Array(environment.keys).sorted() + passedEnvironment {
            if name.isEmpty { throw fail("a variable name is empty (KEY=VALUE or KEY expected)") }
            if name.utf8.contains(0) { throw fail("the variable name '\(name.replacingNUL)' contains a NUL byte") }
            if name.contains("=") { throw fail("the variable name '\(name)' contains '='") }
        }
        for (name, value) in environment where value.utf8.contains(0) {
            throw fail("the value of \(name) contains a NUL byte")
        }
    }
}

extension String {
    /// NUL bytes shown as `\0`, for error messages.
    fileprivate var replacingNUL: String {
        String(decoding: utf8.flatMap { $0 == 0 ? Array(#"\0"#.utf8) : [$0] }, as: UTF8.self)
    }
}
