import Foundation
import SmrtJobs

/// Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, and per session the CSRF token its
/// forms carry and whether it logged in with the token. Kept in memory (a restart logs everyone out), at most
/// `capacity` sessions (the least recently used goes first), each forgotten after `idleLimit` without a request.
final class SessionStore: Sendable {
    struct Session: Sendable, Equatable {
        var id: String
        var csrfToken: String
        var authenticated: Bool
        var lastSeen: Date
        /// A message for the next page (after an action's redirect).
        var flash: Flash?
    }

    /// What an action did, shown once on the page it redirects to.
    struct Flash: Sendable, Equatable {
        var message: String
        var isError: Bool
    }

    static let cookieName = "smrt_session"

    private let sessions = Locked([String: Session]())
    let capacity: Int
    let idleLimit: TimeInterval

    init(capacity: Int = 10_000, idleLimit: TimeInterval = 12 * 3600) {
        self.capacity = capacity
        self.idleLimit = idleLimit
    }

    /// The session with this id, if it exists and has not idled out (its last use is then now).
    func session(id: String?, now: Date = Date()) -> Session? {
        guard let id, !id.isEmpty else { return nil }
        return sessions.withLock { all in
            guard var session = all[id] else { return nil }
            if now.timeIntervalSince(session.lastSeen) > idleLimit {
                all[id] = nil
                return nil
            }
            session.lastSeen = now
            all[id] = session
            return session
        }
    }

    /// A new session with fresh random ids.
    func create(authenticated: Bool, now: Date = Date()) -> Session {
        let session = Session(
            id: Self.randomToken(), csrfToken: Self.randomToken(), authenticated: authenticated, lastSeen: now)
        sessions.withLock { all in
            if all.count >= capacity {
                let expired = all.values.filter { now.timeIntervalSince($0.lastSeen) > idleLimit }.map(\.id)
                for id in expired { all[id] = nil }
                if all.count >= capacity, let oldest = all.values.min(by: { $0.lastSeen < $1.lastSeen }) {
                    all[oldest.id] = nil
                }
            }
            all[session.id] = session
        }
        return session
    }

    func remove(id: String) {
        sessions.withLock { $0[id] = nil }
    }

    /// Stores a message for the session's next page.
    func setFlash(_ flash: Flash, for id: String) {
        sessions.withLock { $0[id]?.flash = flash }
    }

    /// Takes the session's message (shown once).
    func takeFlash(for id: String) -> Flash? {
        sessions.withLock { all in
            defer { all[id]?.flash = nil }
            return all[id]?.flash
        }
    }

    var count: Int { sessions.withLock { $0.count } }

    /// 32 random bytes from the system's generator (getrandom), as 64 hex digits.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        text.reserveCapacity(64)
        for _ in 0..<4 {
            let word = generator.next() as UInt64
            text += String(word, radix: 16).leftPadded(to: 16)
        }
        return text
    }

    /// Whether two secrets are equal, in a time that depends on their lengths only, not on where they differ.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            let left = i < x.count ? x[i] : 0
            let right = i < y.count ? y[i] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
