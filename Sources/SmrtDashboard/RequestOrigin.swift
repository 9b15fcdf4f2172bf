import Foundation
import HTTPTypes
import Hummingbird

/// The same-origin rules: what a request says about where it came from (`Origin`, else `Referer`) and the
/// `Host` it was sent to.
enum RequestOrigin {
    static let hostField = HTTPField.Name("Host")!
    static let originField = HTTPField.Name("Origin")!
    static let refererField = HTTPField.Name("Referer")!

    /// The `Host` the request was sent to, lowercased: the `Host` field when the request still has one, else the
    /// authority (HTTP/1's `Host` becomes the authority of the request head; HTTP/2's `:authority`).
    static func host(of request: Request) -> String? {
        (request.headers[hostField] ?? request.head.authority)?.lowercased()
    }

    /// Whether the request's `Origin` (else its `Referer`) names the host and port it was sent to. A request with
    /// neither is not same-origin (browsers send `Origin` with every form POST). A `Host` without a port matches
    /// an origin on its scheme's default port (a TLS proxy in front passes `Host: example.org`).
    static func isSameOrigin(_ request: Request) -> Bool {
        guard let host = host(of: request), let target = URL(string: "http://\(host)"), let targetHost = target.host else {
            return false
        }
        let claimed = request.headers[originField] ?? request.headers[refererField]
        guard let claimed, claimed != "null", let source = URL(string: claimed), let scheme = source.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let sourceHost = source.host
        else { return false }
        guard unbracketed(sourceHost).lowercased() == unbracketed(targetHost).lowercased() else { return false }
        let sourcePort = source.port ?? (scheme == "https" ? 443 : 80)
        if let targetPort = target.port { return sourcePort == targetPort }
        return sourcePort == 80 || sourcePort == 443
    }

    /// Whether the request carries an `Origin` or `Referer` at all (curl and scripts send neither).
    static func hasOriginHeaders(_ request: Request) -> Bool {
        request.headers[originField] != nil || request.headers[refererField] != nil
    }

    /// The host part of a `Host` header, without port or brackets.
    static func hostName(ofAuthority authority: String) -> String? {
        guard let url = URL(string: "http://\(authority)"), let host = url.host else { return nil }
        return unbracketed(host)
    }

    private static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }
}
