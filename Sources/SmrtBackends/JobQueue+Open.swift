import SmrtJobs

extension JobQueue {
    /// Opens a queue on the database a `--db` string names (see `Backends.open(_:options:)`): a file path
    /// is SQLite.
    ///
    /// ```swift
    /// let queue = try await JobQueue.open("jobs.sqlite")
    /// ```
    /// - Throws: `SmrtJobsError.invalidValue` for a string that names no backend, `SmrtJobsError.database`
    ///   when the database cannot be opened.
    public static func open(
        _ database: String, options: BackendOptions = .init()
    ) async throws -> JobQueue {
        try await JobQueue(backend: Backends.open(database, options: options))
    }
}
