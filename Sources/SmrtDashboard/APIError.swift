import Foundation
import Hummingbird
import SmrtJobs

/// A request that cannot be answered as asked: its HTTP status and a message for people (never a secret). API
/// calls get it as `{"error": "…"}`, pages as an error page.
struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }

    /// 400 naming the parameter and the value at fault.
    static func badParameter(_ name: String, _ value: String, _ reason: String) -> APIError {
        APIError(.badRequest, "invalid parameter \(name) '\(value.prefix(100))': \(reason)")
    }

    static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, message) }
    static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, message) }
    static func notImplemented(_ message: String) -> APIError { APIError(.notImplemented, message) }

    /// What a store error means for the caller: unknown ids 404, refused transitions 409, bad values 400,
    /// a busy or unreachable database 503; anything else 500. Secrets in the message are redacted.
    static func from(_ error: Error) -> APIError {
        if let error = error as? APIError { return error }
        guard let error = error as? SmrtJobsError else {
            return APIError(.internalServerError, ArgumentRedaction.redact(text: "\(error)"))
        }
        let message = ArgumentRedaction.redact(text: error.description)
        switch error {
        case .jobNotFound, .scheduleNotFound: return APIError(.notFound, message)
        case .invalidTransition, .uniqueKeyHeld: return APIError(.conflict, message)
        case .invalidValue, .invalidJSON, .invalidCron, .unknownTimeZone: return APIError(.badRequest, message)
        case .database(let kind, _):
            switch kind {
            case .busy, .unavailable: return APIError(.serviceUnavailable, message)
            case .badInput: return APIError(.badRequest, message)
            default: return APIError(.internalServerError, message)
            }
        case .closed: return APIError(.serviceUnavailable, message)
        default: return APIError(.internalServerError, message)
        }
    }
}
