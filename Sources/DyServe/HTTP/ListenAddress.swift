#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A resolved address to bind: `host` as an IPv4/IPv6 literal or a name, plus the port.
struct ListenAddress {
    var storage = sockaddr_storage()
    var isIPv6 = false

    init(host: String, port: Int) throws(HTTPServerError) {
        guard (0...65535).contains(port) else { throw HTTPServerError.invalidPort(port) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = AI_PASSIVE
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let first = result, let address = first.pointee.ai_addr else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw HTTPServerError.invalidHost(host, reason: reason)
        }
        defer { freeaddrinfo(result) }
        let bigPort = UInt16(port).bigEndian
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            var v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
            v4.sin_port = bigPort
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: v4, as: sockaddr_in.self)
            }
        case AF_INET6:
            var v6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
            v6.sin6_port = bigPort
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: v6, as: sockaddr_in6.self)
            }
            isIPv6 = true
        default:
            throw HTTPServerError.invalidHost(host, reason: "unsupported address family")
        }
    }

    func withSockaddrPointer<T>(_ body: (UnsafePointer<sockaddr>) -> T) -> T {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self))
        }
    }
}
