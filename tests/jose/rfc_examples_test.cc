// The published examples of the JOSE standards, checked against this
// implementation: RFC 7515 appendix A, RFC 7520 section 4 (compact
// serializations only; the API has no JSON serialization), RFC 8037 appendix A
// and RFC 7638 section 3.1. Keys, tokens and thumbprints are the RFCs' test
// vectors, typed in from the texts.
//
// Most of the payloads are not current JWTs (RFC 7515's expire in 2011; the
// others are not JSON claims), so they are checked with the JWS-level API;
// JwtVerifier is exercised only on RFC 7515 A.1, with a clock set before its exp.
//
// The signed compact examples share one table (kPublishedJws): each verifies
// with its key, is refused once a signature byte is flipped, and is refused by
// a key for another algorithm; the deterministic ones are also re-signed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "crypto/digest.h"
#include "jose/base64url.h"
#include "jose/json.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/jwt.h"

namespace bulwark::jose {
namespace {

// RFC 7515 A.1.1, the HMAC key. The RFC prints it without "alg"; a symmetric Jwk
// needs one, so "alg":"HS256" is added here.
constexpr std::string_view kRfc7515A1OctKey =
    R"({"kty":"oct",)"
    R"("alg":"HS256",)"
    R"("k":")"
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0i"
    "PS4hcgUuTwjAzZr1Z9CAow"
    R"("})";

// RFC 7515 A.1.1, the JWS (HS256, header {"typ":"JWT",CRLF "alg":"HS256"}).
constexpr std::string_view kRfc7515A1Token =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

// RFC 7515 A.2.1, the RSA key.
constexpr std::string_view kRfc7515A2RsaKey =
    R"({"kty":"RSA",)"
    R"("n":")"
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp"
    "-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOW"
    "vG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUs"
    "LA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9k"
    "G4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2"
    "PAcDTW9gb54h4FRWyuXpoQ"
    R"(",)"
    R"("e":"AQAB",)"
    R"("d":")"
    "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_G"
    "Q5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKV"
    "RUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9J"
    "YanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoF"
    "aFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjn"
    "czT0QU91p1DhOVRuOopznQ"
    R"(",)"
    R"("p":")"
    "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBds"
    "s1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ"
    "5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"
    R"(",)"
    R"("q":")"
    "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHA"
    "jLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLt"
    "XlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"
    R"(",)"
    R"("dp":")"
    "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE"
    "2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_"
    "YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0"
    R"(",)"
    R"("dq":")"
    "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDo"
    "RwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGN"
    "pmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU"
    R"(",)"
    R"("qi":")"
    "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0Em"
    "pScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1c"
    "q9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"
    R"("})";

// RFC 7515 A.2.1, the JWS (RS256).
constexpr std::string_view kRfc7515A2Token =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
    "p0igcN_IoypGlUPQGe77Rw";

// RFC 7515 A.3.1, the P-256 key.
constexpr std::string_view kRfc7515A3EcKey =
    R"({"kty":"EC",)"
    R"("crv":"P-256",)"
    R"("x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",)"
    R"("d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})";

// RFC 7515 A.3.1, the JWS (ES256).
constexpr std::string_view kRfc7515A3Token =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

// RFC 7515 A.4.1, the P-521 key.
constexpr std::string_view kRfc7515A4EcKey =
    R"({"kty":"EC",)"
    R"("crv":"P-521",)"
    R"("x":")"
    "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvL"
    "FV1jSfS9tsz4qUxcWceqwQGk"
    R"(",)"
    R"("y":")"
    "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4K"
    "kd0AZMaZmh9ubmf63e3kyMj2"
    R"(",)"
    R"("d":")"
    "AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdR"
    "hajnu0ferB0d53vM9mE15j2C"
    R"("})";

// RFC 7515 A.4.1, the JWS (ES512) of the payload "Payload".
constexpr std::string_view kRfc7515A4Token =
    "eyJhbGciOiJFUzUxMiJ9."
    "UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq"
    "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp"
    "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

// RFC 7515 A.5, the Unsecured JWS ("alg":"none", empty signature).
constexpr std::string_view kRfc7515A5Token =
    "eyJhbGciOiJub25lIn0."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "";

// RFC 7520 3.4: the RSA private key (no "alg": RS256 is implied).
constexpr std::string_view kRfc7520RsaKey =
    R"({"kty":"RSA",)"
    R"("kid":"bilbo.baggins@hobbiton.example",)"
    R"("use":"sig",)"
    R"("n":")"
    "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRoj"
    "dNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2l"
    "bzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6c"
    "S6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3"
    "-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwU"
    "kRz5iaiQkqgc5gHdrNP5zw"
    R"(",)"
    R"("e":"AQAB",)"
    R"("d":")"
    "bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0U"
    "TEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_4"
    "2rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe"
    "04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRi"
    "oz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau"
    "7gdsPfHPxxjVOcOpBrQzwQ"
    R"(",)"
    R"("p":")"
    "3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFf"
    "GQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8"
    "UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k"
    R"(",)"
    R"("q":")"
    "uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1"
    "MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUw"
    "FWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc"
    R"(",)"
    R"("dp":")"
    "B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-"
    "IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn-RULHz0-ed9E9gXLKD4"
    "VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik"
    R"(",)"
    R"("dq":")"
    "CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41"
    "DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi_7k_vJgGHwHxgPaX2"
    "PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8"
    R"(",)"
    R"("qi":")"
    "3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3Ha"
    "EGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDhjJ-GtiseaDVWt7dcH0c"
    "fwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4"
    R"("})";

// RFC 7520 4.1.3: RS256, compact serialization.
constexpr std::string_view kRfc7520S41Token =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhh"
    "bXBsZSJ9."
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv"
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n"
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91"
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4."
    "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZo"
    "pdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmD"
    "LJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9e"
    "Ro4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2"
    "aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH8"
    "4ogoree7vjbU5y18kDquDg";

// RFC 7520 4.2.3: PS384, compact serialization.
constexpr std::string_view kRfc7520S42Token =
    "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhh"
    "bXBsZSJ9."
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv"
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n"
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91"
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4."
    "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN"
    "6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvW"
    "Xzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ij"
    "Q7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6ui"
    "P1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmW"
    "jwZ6oD4ifKo8DYM-X72Eaw";

// RFC 7520 3.2: the P-521 private key.
constexpr std::string_view kRfc7520EcKey =
    R"({"kty":"EC",)"
    R"("kid":"bilbo.baggins@hobbiton.example",)"
    R"("use":"sig",)"
    R"("crv":"P-521",)"
    R"("x":")"
    "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqv"
    "jyekWF-7ytDyRXYgCF5cj0Kt"
    R"(",)"
    R"("y":")"
    "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgD"
    "PrwQrJmbnX9cwlGfP-HqHZR1"
    R"(",)"
    R"("d":")"
    "AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CG"
    "ZH3T4ubpnoTKLDYJ_fF3_rJt"
    R"("})";

// RFC 7520 4.3.3: ES512, compact serialization.
constexpr std::string_view kRfc7520S43Token =
    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhh"
    "bXBsZSJ9."
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv"
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n"
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91"
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4."
    "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9"
    "Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD89"
    "0jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";

// RFC 7520 3.5: the symmetric key (it has "alg":"HS256" already).
constexpr std::string_view kRfc7520OctKey = R"({"kty":"oct",)"
                                            R"("kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037",)"
                                            R"("use":"sig",)"
                                            R"("alg":"HS256",)"
                                            R"("k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"})";

// RFC 7520 4.4.3: HS256, compact serialization.
constexpr std::string_view kRfc7520S44Token =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVl"
    "ZjMxNGJjNzAzNyJ9."
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv"
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n"
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91"
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4."
    "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";

// RFC 8037 A.1: the Ed25519 private key.
constexpr std::string_view kRfc8037PrivateKey =
    R"({"kty":"OKP",)"
    R"("crv":"Ed25519",)"
    R"("d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
    R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

// RFC 8037 A.4: the EdDSA JWS of "Example of Ed25519 signing".
constexpr std::string_view kRfc8037Token =
    "eyJhbGciOiJFZERTQSJ9."
    "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5B"
    "hVsPt9g7sVvpAr_MuM0KAg";

// RFC 7638 3.1: the RSA public key whose thumbprint is computed.
constexpr std::string_view kRfc7638RsaKey =
    R"({"kty":"RSA",)"
    R"("n":")"
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86z"
    "wu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5Js"
    "GY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic"
    "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
    "Cur-kEgU8awapJzKnqDKgw"
    R"(",)"
    R"("e":"AQAB",)"
    R"("alg":"RS256",)"
    R"("kid":"2011-04-29"})";

// RFC 8037 A.2: the public half of kRfc8037PrivateKey.
constexpr std::string_view kRfc8037PublicKey =
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

// RFC 7515 A.1-A.3: the JWS Payload, with its CRLF line breaks.
constexpr std::string_view kRfc7515JwtPayload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
constexpr int64_t kRfc7515Exp = 1300819380;

// RFC 7520 4: the payload of every signature example (U+2019 as UTF-8).
constexpr std::string_view kRfc7520Payload =
    "It\xe2\x80\x99s a dangerous business, Frodo, going out your door. You step onto the road, "
    "and if you don't keep your feet, there\xe2\x80\x99s no knowing where you might be swept "
    "off to.";
constexpr std::string_view kRfc7520Kid = "bilbo.baggins@hobbiton.example";

// RFC 8037 A.4: the payload.
constexpr std::string_view kRfc8037Payload = "Example of Ed25519 signing";

// RFC 8037 A.3: the thumbprint of the A.2 key.
constexpr std::string_view kRfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

// RFC 7638 3.1: the thumbprint of kRfc7638RsaKey.
constexpr std::string_view kRfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

// A key the RFC prints without "alg", restricted to `alg` (a Jwk serves one
// algorithm; without "alg" an RSA key means RS256).
Result<Jwk> ParseWithAlg(std::string_view json, std::string_view alg) {
  BULWARK_ASSIGN_OR_RETURN(boost::json::object obj, ParseJsonObject(json));
  obj["alg"] = alg;
  return Jwk::FromJson(obj);
}

// "header.payload" of a compact JWS.
std::string_view SigningInput(std::string_view token) { return token.substr(0, token.rfind('.')); }

// The token with the last byte of its decoded signature flipped, re-encoded
// canonically (so only the signature check can refuse it).
std::string WithFlippedSignatureByte(std::string_view token) {
  size_t dot = token.rfind('.');
  std::string sig = *Base64UrlDecode(token.substr(dot + 1));
  sig.back() = static_cast<char>(sig.back() ^ 0x01);
  return std::string(token.substr(0, dot + 1)) + Base64UrlEncode(sig);
}

// The key a verifier holds for `json` (with "alg" set to `alg` unless it is
// empty): an asymmetric private key's public half, any other key as it is.
Result<Jwk> VerifyingKey(std::string_view json, std::string_view alg = "") {
  BULWARK_ASSIGN_OR_RETURN(Jwk key, alg.empty() ? Jwk::Parse(json) : ParseWithAlg(json, alg));
  if (key.is_symmetric() || !key.is_private()) return key;
  return key.PublicJwk();
}

// A JwtVerifier for RFC 7515 A.1's issuer that trusts only the A.1 HMAC key.
Result<std::unique_ptr<JwtVerifier>> A1JwtVerifier(const Clock& clock) {
  BULWARK_ASSIGN_OR_RETURN(Jwk key, Jwk::Parse(kRfc7515A1OctKey));
  std::vector<Jwk> keys;
  keys.push_back(std::move(key));
  return JwtVerifier::Create(Jwks(std::move(keys)), {.issuers = {"joe"}}, clock);
}

// ---------------------------------------------------------------------------
// The signed compact examples of RFC 7515 A.1-A.4, RFC 7520 4.1-4.4 and
// RFC 8037 A.4, each checked by the parameterized tests below.

struct PublishedJws {
  std::string_view name;  // names the test cases
  std::string_view token;
  std::string_view key;      // verifies `token`
  std::string_view key_alg;  // "alg" given to `key`, or "" to keep its own
  JwsAlgorithm alg;          // of `key` and of the header
  std::string_view kid;      // of the header, "" if absent
  std::string_view typ;      // of the header, "" if absent
  std::string_view payload;
  std::string_view wrong_key;  // a key for another algorithm, which must refuse `token`
  // Signs `payload` into exactly `token`, or "" where signing is randomized
  // or the published header is not the one SignCompactJws writes.
  std::string_view signing_key;
};

void PrintTo(const PublishedJws& example, std::ostream* os) { *os << example.name; }

std::string ExampleName(const testing::TestParamInfo<PublishedJws>& info) {
  return std::string(info.param.name);
}

// {name, token, key, key_alg, alg, kid, typ, payload, wrong_key, signing_key}
constexpr PublishedJws kPublishedJws[] = {
    // A.1's header ({"typ":"JWT",CRLF "alg":...}) is not SignCompactJws's:
    // see A1HmacOverTheSameSigningInputReproducesTheToken.
    {"Rfc7515A1Hs256", kRfc7515A1Token, kRfc7515A1OctKey, "", JwsAlgorithm::kHS256, "", "JWT",
     kRfc7515JwtPayload, kRfc7515A2RsaKey},
    // RSASSA-PKCS1-v1_5 is deterministic, and A.2's header is {"alg":"RS256"},
    // exactly what SignCompactJws writes for a key without kid.
    {"Rfc7515A2Rs256", kRfc7515A2Token, kRfc7515A2RsaKey, "", JwsAlgorithm::kRS256, "", "",
     kRfc7515JwtPayload, kRfc7515A1OctKey, kRfc7515A2RsaKey},
    {"Rfc7515A3Es256", kRfc7515A3Token, kRfc7515A3EcKey, "", JwsAlgorithm::kES256, "", "",
     kRfc7515JwtPayload, kRfc7515A4EcKey},
    {"Rfc7515A4Es512", kRfc7515A4Token, kRfc7515A4EcKey, "", JwsAlgorithm::kES512, "", "",
     "Payload", kRfc7515A3EcKey},
    // The header {"alg":"RS256","kid":"bilbo.baggins@hobbiton.example"} is the
    // one SignCompactJws writes for this key, and PKCS#1 v1.5 is deterministic.
    {"Rfc7520S41Rs256", kRfc7520S41Token, kRfc7520RsaKey, "", JwsAlgorithm::kRS256, kRfc7520Kid, "",
     kRfc7520Payload, kRfc7520OctKey, kRfc7520RsaKey},
    // The RFC's key has no "alg"; PS384 is added so the key serves that
    // algorithm. The same key as the RFC prints it is for RS256 only, and
    // RSASSA-PSS is randomized (see S42RsaPssSigningGivesAFreshSignatureThatVerifies).
    {"Rfc7520S42Ps384", kRfc7520S42Token, kRfc7520RsaKey, "PS384", JwsAlgorithm::kPS384,
     kRfc7520Kid, "", kRfc7520Payload, kRfc7520RsaKey},
    {"Rfc7520S43Es512", kRfc7520S43Token, kRfc7520EcKey, "", JwsAlgorithm::kES512, kRfc7520Kid, "",
     kRfc7520Payload, kRfc7520RsaKey},
    {"Rfc7520S44Hs256", kRfc7520S44Token, kRfc7520OctKey, "", JwsAlgorithm::kHS256,
     "018c0ae5-4d9b-471b-bfd6-eef314bc7037", "", kRfc7520Payload, kRfc7520RsaKey, kRfc7520OctKey},
    // Verified with the A.2 public key (RFC 8037 A.5). Ed25519 is
    // deterministic, and A.4's header is {"alg":"EdDSA"}, what SignCompactJws
    // writes for a key without kid.
    {"Rfc8037A4EdDsa", kRfc8037Token, kRfc8037PublicKey, "", JwsAlgorithm::kEdDSA, "", "",
     kRfc8037Payload, kRfc7515A3EcKey, kRfc8037PrivateKey},
};

class PublishedJwsTest : public testing::TestWithParam<PublishedJws> {};

TEST_P(PublishedJwsTest, VerifiesWithItsKey) {
  const PublishedJws& example = GetParam();
  auto key = VerifyingKey(example.key, example.key_alg);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(key->algorithm(), example.alg);
  auto jws = VerifyCompactJws(example.token, *key);
  ASSERT_TRUE(jws.has_value()) << jws.error().ToString();
  EXPECT_EQ(jws->header().alg, example.alg);
  EXPECT_EQ(jws->header().kid, example.kid);
  EXPECT_EQ(jws->header().typ, example.typ);
  EXPECT_EQ(jws->payload(), example.payload);
}

TEST_P(PublishedJwsTest, WithFlippedSignatureByteIsRefused) {
  const PublishedJws& example = GetParam();
  auto key = VerifyingKey(example.key, example.key_alg);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  auto jws = VerifyCompactJws(WithFlippedSignatureByte(example.token), *key);
  ASSERT_FALSE(jws.has_value());
  EXPECT_EQ(jws.error().code(), StatusCode::kUnauthenticated);
}

TEST_P(PublishedJwsTest, IsRefusedByAKeyForAnotherAlgorithm) {
  auto key = VerifyingKey(GetParam().wrong_key);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  auto jws = VerifyCompactJws(GetParam().token, *key);
  ASSERT_FALSE(jws.has_value());
  EXPECT_EQ(jws.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(jws.error().message(), "algorithm not allowed for key");
}

INSTANTIATE_TEST_SUITE_P(Rfc, PublishedJwsTest, testing::ValuesIn(kPublishedJws), ExampleName);

// The examples whose published token SignCompactJws reproduces.
std::vector<PublishedJws> DeterministicExamples() {
  std::vector<PublishedJws> examples;
  std::ranges::copy_if(kPublishedJws, std::back_inserter(examples),
                       [](const PublishedJws& e) { return !e.signing_key.empty(); });
  return examples;
}

class DeterministicJwsTest : public testing::TestWithParam<PublishedJws> {};

TEST_P(DeterministicJwsTest, SigningReproducesThePublishedToken) {
  const PublishedJws& example = GetParam();
  auto key = Jwk::Parse(example.signing_key);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  auto token = SignCompactJws(*key, example.payload);
  ASSERT_TRUE(token.has_value()) << token.error().ToString();
  EXPECT_EQ(*token, example.token);
}

INSTANTIATE_TEST_SUITE_P(Rfc, DeterministicJwsTest, testing::ValuesIn(DeterministicExamples()),
                         ExampleName);

// ---------------------------------------------------------------------------
// RFC 7515 appendix A

// SignCompactJws writes its own header, and A.1's ({"typ":"JWT",CRLF "alg":...})
// is not one it would write, so the MAC is recomputed over the published
// signing input with the parsed key.
TEST(Rfc7515ExamplesTest, A1HmacOverTheSameSigningInputReproducesTheToken) {
  auto key = Jwk::Parse(kRfc7515A1OctKey);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  std::string_view input = SigningInput(kRfc7515A1Token);
  auto mac = crypto::Hmac(crypto::HashAlgorithm::kSha256, *key->secret(), input);
  ASSERT_TRUE(mac.has_value()) << mac.error().ToString();
  EXPECT_EQ(std::string(input) + "." + Base64UrlEncode(*mac), kRfc7515A1Token);
}

TEST(Rfc7515ExamplesTest, A1JwtIsAcceptedByJwtVerifierBeforeItsExp) {
  FakeClock clock(kRfc7515Exp - 3600);
  auto verifier = A1JwtVerifier(clock);
  ASSERT_TRUE(verifier.has_value()) << verifier.error().ToString();
  auto jwt = (*verifier)->Verify(kRfc7515A1Token);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().ToString();
  EXPECT_EQ((*jwt)->issuer(), "joe");
  EXPECT_EQ((*jwt)->expires_at(), kRfc7515Exp);
  EXPECT_TRUE((*jwt)->claims().at("http://example.com/is_root").as_bool());
}

TEST(Rfc7515ExamplesTest, A1JwtIsRefusedByJwtVerifierAsExpiredToday) {
  FakeClock clock(1'700'000'000);
  auto verifier = A1JwtVerifier(clock);
  ASSERT_TRUE(verifier.has_value()) << verifier.error().ToString();
  auto jwt = (*verifier)->Verify(kRfc7515A1Token);
  ASSERT_FALSE(jwt.has_value());
  EXPECT_EQ(jwt.error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(jwt.error().message(), "expired");
}

TEST(Rfc7515ExamplesTest, A5UnsecuredTokenIsRefusedByParsing) {
  auto parsed = ParseCompactJws(kRfc7515A5Token);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message(), "algorithm not allowed");
}

TEST(Rfc7515ExamplesTest, A5UnsecuredTokenIsRefusedByVerificationWithAnyKey) {
  auto oct = Jwk::Parse(kRfc7515A1OctKey);
  auto rsa = Jwk::Parse(kRfc7515A2RsaKey);
  ASSERT_TRUE(oct.has_value()) << oct.error().ToString();
  ASSERT_TRUE(rsa.has_value()) << rsa.error().ToString();
  for (const Jwk* key : {&*oct, &*rsa}) {
    auto jws = VerifyCompactJws(kRfc7515A5Token, *key);
    ASSERT_FALSE(jws.has_value()) << key->kty();
    EXPECT_EQ(jws.error().code(), StatusCode::kInvalidArgument) << key->kty();
  }
  std::vector<Jwk> keys = {*oct, *rsa->PublicJwk()};
  auto jws = VerifyCompactJws(kRfc7515A5Token, Jwks(std::move(keys)));
  ASSERT_FALSE(jws.has_value());
  EXPECT_EQ(jws.error().code(), StatusCode::kInvalidArgument);
}

TEST(Rfc7515ExamplesTest, A5UnsecuredTokenIsRefusedByJwtVerifier) {
  FakeClock clock(kRfc7515Exp - 3600);
  auto verifier = A1JwtVerifier(clock);
  ASSERT_TRUE(verifier.has_value()) << verifier.error().ToString();
  auto jwt = (*verifier)->Verify(kRfc7515A5Token);
  ASSERT_FALSE(jwt.has_value());
  EXPECT_EQ(jwt.error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(jwt.error().message(), "algorithm not allowed");
}

// ---------------------------------------------------------------------------
// RFC 7520 section 4 (compact serializations)

// RSASSA-PSS is randomized: a new signature differs from the published one but
// verifies the same way.
TEST(Rfc7520ExamplesTest, S42RsaPssSigningGivesAFreshSignatureThatVerifies) {
  auto key = ParseWithAlg(kRfc7520RsaKey, "PS384");
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  auto token = SignCompactJws(*key, kRfc7520Payload);
  ASSERT_TRUE(token.has_value()) << token.error().ToString();
  EXPECT_EQ(SigningInput(*token), SigningInput(kRfc7520S42Token));
  EXPECT_NE(*token, kRfc7520S42Token);
  EXPECT_TRUE(VerifyCompactJws(*token, *key->PublicJwk()).has_value());
}

// The RSA and EC keys share one kid: a key set must try each key with that kid
// and pick the one whose algorithm the header names.
TEST(Rfc7520ExamplesTest, KeySetWithOneKidForRsaAndEcVerifiesBothExamples) {
  auto rsa = Jwk::Parse(kRfc7520RsaKey);
  auto ec = Jwk::Parse(kRfc7520EcKey);
  ASSERT_TRUE(rsa.has_value()) << rsa.error().ToString();
  ASSERT_TRUE(ec.has_value()) << ec.error().ToString();
  std::vector<Jwk> keys = {*rsa->PublicJwk(), *ec->PublicJwk()};
  Jwks set(std::move(keys));
  for (std::string_view token : {kRfc7520S41Token, kRfc7520S43Token}) {
    auto jws = VerifyCompactJws(token, set);
    ASSERT_TRUE(jws.has_value()) << jws.error().ToString();
    EXPECT_EQ(jws->payload(), kRfc7520Payload);
  }
  auto pss = VerifyCompactJws(kRfc7520S42Token, set);
  ASSERT_FALSE(pss.has_value());
  EXPECT_EQ(pss.error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(pss.error().message(), "algorithm not allowed for key");
}

// ---------------------------------------------------------------------------
// RFC 8037 appendix A

TEST(Rfc8037ExamplesTest, A1PrivateKeyParsesAsAnEd25519SigningKey) {
  auto key = Jwk::Parse(kRfc8037PrivateKey);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(key->kty(), "OKP");
  EXPECT_TRUE(key->is_private());
  EXPECT_EQ(key->algorithm(), JwsAlgorithm::kEdDSA);
  EXPECT_FALSE(key->has_explicit_alg());
  boost::json::object json = key->ToJsonObject(/*include_private=*/true);
  EXPECT_EQ(json.at("crv").as_string(), "Ed25519");
  EXPECT_EQ(json.at("d").as_string(), "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  EXPECT_EQ(json.at("x").as_string(), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
}

TEST(Rfc8037ExamplesTest, A2PublicKeyParsesAndIsThePublicHalfOfA1) {
  auto pub = Jwk::Parse(kRfc8037PublicKey);
  ASSERT_TRUE(pub.has_value()) << pub.error().ToString();
  EXPECT_EQ(pub->kty(), "OKP");
  EXPECT_FALSE(pub->is_private());
  EXPECT_EQ(pub->algorithm(), JwsAlgorithm::kEdDSA);
  auto priv = Jwk::Parse(kRfc8037PrivateKey);
  ASSERT_TRUE(priv.has_value()) << priv.error().ToString();
  EXPECT_EQ(priv->PublicJwk()->ToJson(), pub->ToJson());
}

TEST(Rfc8037ExamplesTest, A3ThumbprintMatchesTheRfc) {
  auto pub = Jwk::Parse(kRfc8037PublicKey);
  auto priv = Jwk::Parse(kRfc8037PrivateKey);
  ASSERT_TRUE(pub.has_value()) << pub.error().ToString();
  ASSERT_TRUE(priv.has_value()) << priv.error().ToString();
  EXPECT_EQ(pub->Thumbprint(), kRfc8037Thumbprint);
  EXPECT_EQ(priv->Thumbprint(), kRfc8037Thumbprint);
}

// ---------------------------------------------------------------------------
// RFC 7638 section 3.1

TEST(Rfc7638ExamplesTest, S31RsaThumbprintMatchesTheRfc) {
  auto key = Jwk::Parse(kRfc7638RsaKey);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(key->kid(), "2011-04-29");
  EXPECT_EQ(key->Thumbprint(), kRfc7638Thumbprint);
}

// Only the required members (e, kty, n) are hashed: without alg and kid the
// thumbprint is the same.
TEST(Rfc7638ExamplesTest, S31ThumbprintIgnoresOptionalMembers) {
  auto obj = ParseJsonObject(kRfc7638RsaKey);
  ASSERT_TRUE(obj.has_value()) << obj.error().ToString();
  obj->erase("alg");
  obj->erase("kid");
  auto key = Jwk::FromJson(*obj);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(key->Thumbprint(), kRfc7638Thumbprint);
}

}  // namespace
}  // namespace bulwark::jose
