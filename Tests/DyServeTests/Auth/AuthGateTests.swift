import Testing
@testable import DyServe

/// The gate's answers: RFC 6750 challenges, JSON error bodies in the service's style, keys never
/// echoed, trace outputs needing introspection, and the gate off by default.
@Suite struct AuthGateTests {
    @Test func offByDefaultEveryRequestPasses() {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        #expect(!ServiceContext.init(registry: api.context.registry, executor: api.context.executor,
                                     traces: api.context.traces, metrics: api.context.metrics,
                                     limits: api.context.limits).auth.isEnabled)
        #expect(api.get("/attention").status == 200)
        #expect(api.post(#"{"model": "test", "input": [[[[1, 0], [0, 0]]]], "return_trace": true}"#).status == 200)
    }

    @Test func missingKeyIs401WithAChallengeAndNoErrorCode() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let handler = api.guarded(by: try TestKeys.gate())
        for authorization in [nil, "Basic dXNlcjpwYXNz", "Bearerx abcdefghijklmnopqrstu", ""] {
            let r = call(handler, "GET", "/attention", authorization: authorization)
            #expect(r.status == 401, "\(authorization ?? "none")")
            #expect(r.header("WWW-Authenticate") == #"Bearer realm="dyserve", scope="introspection""#)
            #expect(r.header("Content-Type") == "application/json")
            #expect(r.header("X-Request-Id") != nil)
            #expect(r.errorMessage == "GET /attention needs an API key with scope introspection; send it as 'Authorization: Bearer <key>'")
        }
    }

    @Test func unknownKeyIs401InvalidTokenAndIsNotEchoed() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let handler = api.guarded(by: try TestKeys.gate())
        let guess = "inference-key-0123456780"
        for authorization in ["Bearer \(guess)", "bearer \(guess)", "BEARER   \(guess)  ",
                              "Bearer \(TestKeys.inference)x", "Bearer \(TestKeys.inference.dropLast())"] {
            let r = call(handler, "POST", "/infer", authorization: authorization, body: "{}")
            #expect(r.status == 401, "\(authorization)")
            #expect(r.header("WWW-Authenticate") == #"Bearer realm="dyserve", error="invalid_token", error_description="the API key is not valid""#)
            #expect(r.errorMessage == "the API key is not valid")
            #expect(!r.text.contains(guess) && !r.headers.contains { $0.value.contains(guess) })
        }
        // The scheme is case-insensitive and blanks around the token are not part of it.
        #expect(call(handler, "GET", "/attention", authorization: "bEaReR  \(TestKeys.introspection) ").status == 200)
    }

    @Test func malformedBearerIs400InvalidRequest() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let handler = api.guarded(by: try TestKeys.gate())
        for authorization in ["Bearer", "Bearer ", "Bearer a b", "Bearer \(TestKeys.inference), Bearer \(TestKeys.admin)",
                              "Bearer ab=c", "Bearer \"quoted-key-0123456789\"", "Bearer é-key-0123456789"] {
            let r = call(handler, "POST", "/infer", authorization: authorization, body: "{}")
            #expect(r.status == 400, "\(authorization)")
            #expect(r.header("WWW-Authenticate")?.contains(#"error="invalid_request""#) == true)
            #expect(r.errorMessage.hasPrefix("the Authorization header must be 'Bearer <key>'"))
        }
    }

    @Test func wrongScopeIs403InsufficientScope() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let handler = api.guarded(by: try TestKeys.gate())
        let r = call(handler, "POST", "/v2/repository/index", key: TestKeys.inference, body: "{}")
        #expect(r.status == 403)
        #expect(r.header("WWW-Authenticate") == #"Bearer realm="dyserve", error="insufficient_scope", scope="admin""#)
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.errorMessage == "POST /v2/repository/index needs scope admin, which this API key does not have")
        #expect(!r.text.contains(TestKeys.inference))
    }

    @Test func refusalsAreCountedUnderTheirOwnRoute() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let handler = api.guarded(by: try TestKeys.gate())
        _ = call(handler, "GET", "/attention")
        _ = call(handler, "GET", "/attention", key: TestKeys.inference)
        let metrics = call(handler, "GET", "/metrics", key: TestKeys.introspection).text
        #expect(metrics.contains(#"route="unauthorized",code="401""#) && metrics.contains(#"route="unauthorized",code="403""#), "\(metrics)")
    }

    @Test func theTraceOfAnInferenceNeedsIntrospection() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let handler = api.guarded(by: try TestKeys.gate())
        let input = #""model": "test", "input": [[[[1, 0], [0, 0]]]]"#
        let plain = call(handler, "POST", "/infer", key: TestKeys.inference, body: "{\(input)}")
        #expect(plain.status == 200, "\(plain.text)")
        let traced = call(handler, "POST", "/infer", key: TestKeys.inference, body: #"{\#(input), "return_trace": true}"#)
        #expect(traced.status == 403)
        #expect(traced.errorMessage == "returning a trace from POST /infer needs scope introspection, which this API key does not have")
        #expect(traced.header("WWW-Authenticate") == #"Bearer realm="dyserve", error="insufficient_scope", scope="introspection""#)
        #expect(call(handler, "POST", "/infer", key: TestKeys.all, body: #"{\#(input), "return_trace": true}"#).status == 200)

        let v2 = #""inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 0, 0, 0]}]"#
        #expect(call(handler, "POST", "/v2/models/test/infer", key: TestKeys.inference, body: "{\(v2)}").status == 200)
        let v2Traced = call(handler, "POST", "/v2/models/test/infer", key: TestKeys.inference,
                            body: #"{\#(v2), "parameters": {"trace": "attention"}}"#)
        #expect(v2Traced.status == 403, "\(v2Traced.text)")
        let allowed = call(handler, "POST", "/v2/models/test/infer", key: TestKeys.all, body: #"{\#(v2), "parameters": {"trace": "attention"}}"#)
        #expect(allowed.status == 200, "\(allowed.text)")
    }

    @Test func constantTimeEqualityIsEquality() {
        let cases: [([UInt8], [UInt8], Bool)] = [
            (Array("secret-key".utf8), Array("secret-key".utf8), true),
            (Array("secret-key".utf8), Array("secret-kez".utf8), false),
            (Array("secret-key".utf8), Array("Secret-key".utf8), false),
            (Array("secret-key".utf8), Array("secret-ke".utf8), false),
            (Array("secret-key".utf8), Array("secret-keysecret-key".utf8), false),  // wraps around: same bytes, other length
            (Array("secret-key".utf8), [], false),
            ([], [], true),
            ([0], [0, 0], false),
        ]
        for (secret, presented, equal) in cases {
            #expect(ConstantTime.equal(secret, presented) == equal, "\(secret) vs \(presented)")
        }
    }

    @Test func everyKeyIsComparedAndTheMatchingOneWins() throws {
        let gate = try TestKeys.gate()
        #expect(gate.match(Array(TestKeys.admin.utf8))?.scopes == [.admin])
        #expect(gate.match(Array(TestKeys.all.utf8))?.scopes == Set(AuthScope.allCases))
        #expect(gate.match(Array("nobody-key-0123456789".utf8)) == nil)
        #expect("\(gate.match(Array(TestKeys.admin.utf8))!)" == "API key with scopes admin")
    }
}
