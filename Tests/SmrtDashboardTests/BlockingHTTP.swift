import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP requests from blocking test bodies (inside `BlockingWork.run`): URLSession, waited for on a semaphore
/// with the request's own timeout.
enum BlockingHTTP {
    struct Response: CustomStringConvertible {
        var status: Int
        var body: String
        var contentType: String?
        var description: String { "HTTP \(status): \(body.prefix(500))" }
    }

    static func request(_ url: String, method: String = "GET", json: String? = nil, timeout: Double = 30) throws -> Response {
        guard let target = URL(string: url) else { throw SpawnedProcess.Failure(description: "not a URL: \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.utf8)
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<Response, Error>?
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                outcome = .failure(error)
            } else {
                let http = response as? HTTPURLResponse
                outcome = .success(Response(
                    status: http?.statusCode ?? 0, body: String(decoding: data ?? Data(), as: UTF8.self),
                    contentType: http?.value(forHTTPHeaderField: "Content-Type")))
            }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout + 5) == .timedOut {
            task.cancel()
            throw SpawnedProcess.Failure(description: "\(method) \(url): no answer within \(timeout) s")
        }
        return try outcome!.get()
    }
}
