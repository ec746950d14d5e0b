import Foundation
import Testing
@testable import DyServe

/// The server-wide budgets for request bodies being received and large responses being sent.
@Suite struct HTTPServerBudgetTests {
    @Test func responsesBeyondTheBudgetGet503WithRetryAfter() throws {
        // 6 MiB answers against a 10 MiB budget. An answer counts in full until MHD has handed
        // its last byte to the kernel; the kernel's send buffer (at most 4 MiB by default) and
        // the idle client's small receive buffer cannot take all of it.
        let size = 6 << 20
        let configuration = HTTPServerConfiguration(maxInflightResponseBytes: 10 << 20)
        try withTestServer(configuration) { _, _, port in
            var idle: [TestHTTPClient] = []
            var refused: TestHTTPResponse?
            for _ in 0..<4 where refused == nil {
                let client = try TestHTTPClient(port: port)
                client.setReceiveBuffer(bytes: 4096)
                try client.sendRequest(path: "/bytes?n=\(size)")
                idle.append(client)
                let probe = try TestHTTPClient(port: port)
                try probe.sendRequest(path: "/bytes?n=\(size)")
                let r = try probe.readResponse()
                if r.status == 503 { refused = r } else { #expect(r.status == 200 && r.body.count == size) }
            }
            let r = try #require(refused, "the response budget never refused an answer")
            #expect(r.header("retry-after") == "1")
            #expect(r.header("content-type") == "application/json")
            #expect(r.bodyText.contains("budget"))
            // Small answers are not counted and still flow.
            #expect(try TestHTTPClient(port: port).request(path: "/bytes?n=100").status == 200)
            idle.removeAll()  // closing the idle readers frees their answers
            var answered = false
            for _ in 0..<100 where !answered {
                answered = try TestHTTPClient(port: port).request(path: "/bytes?n=\(size)").status == 200
                if !answered { Thread.sleep(forTimeInterval: 0.1) }
            }
            #expect(answered)
        }
    }

    @Test func requestBodiesBeyondTheBudgetGet503WithRetryAfter() throws {
        let configuration = HTTPServerConfiguration(maxBodyBytes: 1 << 20, maxInflightBodyBytes: 1 << 20)
        try withTestServer(configuration) { _, handler, port in
            // One upload holds 700 KiB of the 1 MiB budget while it is still being sent.
            let holder = try TestHTTPClient(port: port)
            let held = [UInt8](repeating: UInt8(ascii: "a"), count: 700 << 10)
            try holder.sendRequest(method: "POST", path: "/echo", headers: [("Content-Length", "\(800 << 10)")])
            try holder.send(held)

            // An announced body that does not fit the rest is refused at once (its bytes are
            // not sent); the server reads the holder's bytes concurrently, so retry until it has.
            var refused: TestHTTPResponse?
            for _ in 0..<100 where refused == nil {
                let client = try TestHTTPClient(port: port)
                try client.sendRequest(method: "POST", path: "/echo", headers: [("Content-Length", "\(500 << 10)")])
                client.setTimeout(seconds: 1)
                if let r = try? client.readResponse(), r.status == 503 { refused = r }
            }
            let r = try #require(refused, "the body budget never refused an upload")
            #expect(r.header("retry-after") == "1")
            #expect(r.header("connection")?.lowercased() == "close")
            #expect(r.bodyText.contains("budget"))

            // A chunked body (no announced length) is refused once it crosses the budget.
            let chunked = try TestHTTPClient(port: port)
            try chunked.sendChunkedRequest(path: "/echo", chunks: [[UInt8](repeating: 1, count: 200 << 10),
                                                                   [UInt8](repeating: 2, count: 200 << 10)])
            #expect(try chunked.readResponse().status == 503)

            // Small requests fit beside the holder.
            #expect(try TestHTTPClient(port: port).request(method: "POST", path: "/echo", body: [1, 2, 3]).status == 200)

            // The holder finishes and is answered; its bytes return to the budget.
            try holder.send([UInt8](repeating: UInt8(ascii: "b"), count: 100 << 10))
            #expect(try holder.readResponse().status == 200)
            holder.close()
            var accepted = false
            for _ in 0..<100 where !accepted {
                let client = try TestHTTPClient(port: port)
                accepted = try client.request(method: "POST", path: "/echo",
                                              body: [UInt8](repeating: 3, count: 500 << 10)).status == 200
                if !accepted { Thread.sleep(forTimeInterval: 0.05) }
            }
            #expect(accepted)
            #expect(handler.handledCount >= 2)
        }
    }
}
