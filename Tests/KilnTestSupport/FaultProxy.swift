import Foundation

/// The fault-injecting reverse proxy (fault_proxy.py beside this file) in front of a loopback server.
public final class FaultProxy: @unchecked Sendable {
    private let server: PortPrintingServer
    /// The proxy's port.
    public var port: Int { server.port }
    private let statsPath: String

    /// Injected faults and forwarded requests so far.
    public struct Stats: Decodable, Sendable {
        /// Requests the proxy received.
        public var requests: Int
        /// Requests it passed to the upstream server.
        public var forwarded: Int
        /// Faults by kind: throttle, error500, drop-before, drop-after.
        public var faults: [String: Int]
        /// Requests answered from the ClientToken cache (EC2's idempotency, which moto lacks).
        public var idempotent_replays: Int
        /// Spot launches refused.
        public var spot_rejections: Int?
    }

    /// Starts the proxy in front of `upstream`, faulting `rate` (0…1) of requests, deterministically for a
    /// seed; the first answer to each of `loseFirstAnswerOf` (operation names) is always lost after forwarding.
    /// With `rejectSpot`, every spot RunInstances is refused with InsufficientInstanceCapacity.
    public init(upstream: String, rate: Double, seed: Int = 7, loseFirstAnswerOf: [String] = [], rejectSpot: Bool = false) throws {
        statsPath = NSTemporaryDirectory() + "kiln-fault-proxy-\(UUID().uuidString).json"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fault_proxy.py").path
        server = try PortPrintingServer(python: script, [upstream, String(rate), String(seed), statsPath,
                                                         loseFirstAnswerOf.joined(separator: ","), rejectSpot ? "reject-spot" : "-"])
    }

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// What the proxy has done so far.
    public var stats: Stats {
        guard let data = FileManager.default.contents(atPath: statsPath),
              let stats = try? JSONDecoder().decode(Stats.self, from: data) else {
            return Stats(requests: 0, forwarded: 0, faults: [:], idempotent_replays: 0)
        }
        return stats
    }

    deinit {
        try? FileManager.default.removeItem(atPath: statsPath)
    }
}
