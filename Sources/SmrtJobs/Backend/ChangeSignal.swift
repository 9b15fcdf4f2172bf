/// Tells when the database may have changed: a job may have become claimable, or a job may have finished.
///
/// A hint, never a promise: it may fire for nothing, or several times for one change, and listeners keep a
/// slow poll as the fallback. SQLite watches its WAL file and confirms with `PRAGMA data_version`;
/// a server database listens for notifications on a connection of its own.
public protocol ChangeSignal: AnyObject, Sendable {
    /// Starts watching; `onChange` runs on a thread of the signal's own. Throws when watching is impossible
    /// (callers then rely on their poll). Called once.
    func start(onChange: @escaping @Sendable () -> Void) throws
    /// Pauses (`false`) or resumes (`true`) watching, to spare the work while nobody would act on a change.
    /// Resuming reports a change at once if one may have happened meanwhile.
    func setActive(_ active: Bool)
    /// Stops watching and releases what the signal holds; `onChange` is not called once it returns.
    /// Safe to call more than once, and without `start`.
    func stop()
}
