/*
 * The demo's page and event counters (see page.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "page.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const demo_page PAGE_VIEWS = {"Views", "This page counts your visits in your session."};
const demo_page PAGE_LOGIN = {"Logged in",
                              "You are logged in: a new session ID was issued and your user name stored in it."};
const demo_page PAGE_LOGOUT = {"Logged out", "You are logged out: the session was destroyed."};
const demo_page PAGE_NOT_FOUND = {"Not found", "There is no page here."};
const demo_page PAGE_BAD_USER = {"Bad request",
                                 "A user name is 1 to 64 letters, digits, dots, underscores or hyphens."};
const demo_page PAGE_METHOD = {"Method not allowed", "Only GET and HEAD are served here."};
const demo_page PAGE_STORE_ERROR = {"Session error", "The session store failed; try again."};

/* The template: title, what, views, user, session ID, cookie. */
static const char TEMPLATE[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head><meta charset=\"utf-8\"><title>libsession demo</title></head>\n"
    "<body>\n"
    "<h1>%s</h1>\n"
    "<p id=\"what\">%s</p>\n"
    "<table>\n"
    "<tr><th>Views</th><td id=\"views\">%s</td></tr>\n"
    "<tr><th>User</th><td id=\"user\">%s</td></tr>\n"
    "<tr><th>Session ID</th><td id=\"sid\">%s</td></tr>\n"
    "<tr><th>Cookie</th><td id=\"cookie\">%s</td></tr>\n"
    "</table>\n"
    "<p><a href=\"/\">Count</a> \xc2\xb7 <a href=\"/login\">Log in</a> \xc2\xb7 <a href=\"/logout\">Log out</a> "
    "\xc2\xb7 <a href=\"/stats\">Stats</a></p>\n"
    "<p>Log in regenerates the session: the old session ID is discarded and a new one issued, so an ID someone "
    "planted before you logged in is worthless; then your user name is stored in the new session.</p>\n"
    "<p>Log out destroys the session in the store and, with clearCookieOnDestroy (on by default), answers with a "
    "cookie that expired in 1970, so the browser deletes it.</p>\n"
    "</body>\n"
    "</html>\n";

#define NONE "(none)"

/* Appends `s` (n bytes) to out[*len], HTML-escaped. Returns 0 or -1. */
static int append_escaped(char *out, size_t size, size_t *len, const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        const char *rep = NULL;
        char one[2] = {s[i], '\0'};
        size_t k;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: rep = one; break;
        }
        k = rep == one ? 1 : strlen(rep);
        if (*len + k >= size) {
            return -1;
        }
        memcpy(out + *len, rep, k);
        *len += k;
    }
    out[*len] = '\0';
    return 0;
}

static int append(char *out, size_t size, size_t *len, const char *s) {
    size_t k = strlen(s);
    if (*len + k >= size) {
        return -1;
    }
    memcpy(out + *len, s, k + 1);
    *len += k;
    return 0;
}

/* Appends the UTF-8 form of code point `c`. */
static int append_utf8(char *out, size_t size, size_t *len, uint32_t c) {
    char b[4];
    size_t k;
    if (c < 0x80) {
        b[0] = (char)c;
        k = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3F));
        k = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        k = 3;
    } else {
        b[0] = (char)(0xF0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (char)(0x80 | (c & 0x3F));
        k = 4;
    }
    if (*len + k >= size) {
        return -1;
    }
    memcpy(out + *len, b, k);
    *len += k;
    out[*len] = '\0';
    return 0;
}

static int hex4(const char *p, const char *end, uint32_t *v) {
    int i;
    *v = 0;
    if (end - p < 4) {
        return -1;
    }
    for (i = 0; i < 4; i++) {
        char c = p[i];
        *v <<= 4;
        if (c >= '0' && c <= '9') {
            *v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            *v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            *v |= (uint32_t)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    return 0;
}

/* Decodes the JSON string at *p (a '"': the library wrote it, so it is
 * valid JSON) into out; moves *p past it. Returns 0 or -1. */
static int json_string(const char **p, const char *end, char *out, size_t size) {
    const char *s = *p + 1;
    size_t len = 0;
    out[0] = '\0';
    while (s < end && *s != '"') {
        uint32_t c;
        if (*s != '\\') {
            if (len + 1 >= size) {
                return -1;
            }
            out[len++] = *s++;
            out[len] = '\0';
            continue;
        }
        if (++s >= end) {
            return -1;
        }
        switch (*s) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u':
            if (hex4(s + 1, end, &c) != 0) {
                return -1;
            }
            s += 4;
            if (c >= 0xD800 && c < 0xDC00 && end - s > 6 && s[1] == '\\' && s[2] == 'u') {
                uint32_t lo;
                if (hex4(s + 3, end, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                    c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                }
            }
            if (c >= 0xD800 && c < 0xE000) {
                c = 0xFFFD; /* a lone surrogate */
            }
            break;
        default: c = (unsigned char)*s; break; /* " \ / */
        }
        s++;
        if (append_utf8(out, size, &len, c) != 0) {
            return -1;
        }
    }
    if (s >= end) {
        return -1;
    }
    *p = s + 1;
    return 0;
}

/* "lax" -> "Lax" in place (ASCII). */
static void capitalize(char *s) {
    size_t i;
    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (i == 0 && c >= 'a' && c <= 'z') {
            s[i] = (char)(c - 'a' + 'A');
        } else if (i > 0 && c >= 'A' && c <= 'Z') {
            s[i] = (char)(c - 'A' + 'a');
        }
    }
}

/* One member of the session's cookie as the page uses it. */
typedef struct {
    char text[512]; /* a string value */
    int is_string;
    int is_true;
} cookie_member;

enum { C_PATH, C_DOMAIN, C_EXPIRES, C_HTTP_ONLY, C_SECURE, C_SAME_SITE, C_PARTITIONED, C_PRIORITY, C_COUNT };
static const char *const COOKIE_KEYS[C_COUNT] = {"path",     "domain",   "expires",     "httpOnly",
                                                 "secure",   "sameSite", "partitioned", "priority"};

/* The session cookie's attributes as Set-Cookie names them, from the
 * session's JSON (its "cookie" member, express-session's Cookie#toJSON,
 * which the library always writes first): Path, Domain, Expires (the
 * stored ISO instant), HttpOnly, Secure, SameSite, Partitioned, Priority.
 * Returns 0, or -1 when the JSON is not of that form. */
static int cookie_attributes(const char *json, size_t n, char *out, size_t size) {
    const char *p = json, *end = json + n;
    cookie_member m[C_COUNT];
    char key[64];
    size_t len = 0;
    int i;
    memset(m, 0, sizeof m);
    out[0] = '\0';
    if (n < 11 || memcmp(p, "{\"cookie\":{", 11) != 0) {
        return -1;
    }
    p += 11;
    while (p < end && *p != '}') {
        const char *v;
        int which = -1;
        if (*p == ',') {
            p++;
        }
        if (p >= end || *p != '"' || json_string(&p, end, key, sizeof key) != 0 || p >= end || *p != ':') {
            return -1;
        }
        v = ++p;
        for (i = 0; i < C_COUNT; i++) {
            if (strcmp(key, COOKIE_KEYS[i]) == 0) {
                which = i;
            }
        }
        if (*v == '"') {
            char text[512];
            if (json_string(&p, end, text, sizeof text) != 0) {
                return -1;
            }
            if (which >= 0) {
                memcpy(m[which].text, text, sizeof text);
                m[which].is_string = 1;
            }
        } else {
            while (p < end && *p != ',' && *p != '}') { /* a number, true, false or null */
                p++;
            }
            if (which >= 0 && p - v == 4 && memcmp(v, "true", 4) == 0) {
                m[which].is_true = 1;
            }
        }
    }
    if (m[C_PATH].is_string && (append(out, size, &len, "Path=") || append(out, size, &len, m[C_PATH].text))) {
        return -1;
    }
    if (m[C_DOMAIN].is_string && ((len && append(out, size, &len, "; ")) || append(out, size, &len, "Domain=") ||
                                  append(out, size, &len, m[C_DOMAIN].text))) {
        return -1;
    }
    if (m[C_EXPIRES].is_string && ((len && append(out, size, &len, "; ")) || append(out, size, &len, "Expires=") ||
                                   append(out, size, &len, m[C_EXPIRES].text))) {
        return -1;
    }
    if (m[C_HTTP_ONLY].is_true && ((len && append(out, size, &len, "; ")) || append(out, size, &len, "HttpOnly"))) {
        return -1;
    }
    if (m[C_SECURE].is_true && ((len && append(out, size, &len, "; ")) || append(out, size, &len, "Secure"))) {
        return -1;
    }
    if (m[C_SAME_SITE].is_true) {
        if ((len && append(out, size, &len, "; ")) || append(out, size, &len, "SameSite=Strict")) {
            return -1;
        }
    } else if (m[C_SAME_SITE].is_string) {
        capitalize(m[C_SAME_SITE].text);
        if ((len && append(out, size, &len, "; ")) || append(out, size, &len, "SameSite=") ||
            append(out, size, &len, m[C_SAME_SITE].text)) {
            return -1;
        }
    }
    if (m[C_PARTITIONED].is_true &&
        ((len && append(out, size, &len, "; ")) || append(out, size, &len, "Partitioned"))) {
        return -1;
    }
    if (m[C_PRIORITY].is_string) {
        capitalize(m[C_PRIORITY].text);
        if ((len && append(out, size, &len, "; ")) || append(out, size, &len, "Priority=") ||
            append(out, size, &len, m[C_PRIORITY].text)) {
            return -1;
        }
    }
    return 0;
}

int page_render(const demo_page *page, const libsession_request *req, char *out, size_t size) {
    char views[64] = "0", user[1024] = NONE, sid[64] = NONE, cookie[2048] = NONE, raw[2048];
    bool has = false;
    libsession_str s = {NULL, 0};
    size_t len = 0;
    int w;
    if (req != NULL && libsession_request_has_session(req, &has) == LIBSESSION_RESULT_OK && has) {
        if (libsession_request_get_json(req, (const uint8_t *)"views", 5, &s) == LIBSESSION_RESULT_OK &&
            s.data != NULL && s.len < sizeof raw) {
            char *endp = NULL;
            double v;
            memcpy(raw, s.data, s.len);
            raw[s.len] = '\0';
            v = strtod(raw, &endp);
            if (endp != raw && *endp == '\0') {
                if (v == (double)(long long)v && v < 1e15 && v > -1e15) {
                    snprintf(views, sizeof views, "%lld", (long long)v);
                } else {
                    snprintf(views, sizeof views, "%.40s", raw);
                }
            }
        }
        if (libsession_request_get_json(req, (const uint8_t *)"user", 4, &s) == LIBSESSION_RESULT_OK &&
            s.data != NULL && s.len > 0 && s.data[0] == '"') {
            const char *p = (const char *)s.data;
            if (json_string(&p, p + s.len, raw, sizeof raw) == 0) {
                user[0] = '\0';
                if (append_escaped(user, sizeof user, &len, raw, strlen(raw)) != 0) {
                    snprintf(user, sizeof user, "%s", NONE);
                }
            }
        }
        if (libsession_request_session_id(req, &s) == LIBSESSION_RESULT_OK && s.data != NULL) {
            /* IDs are ASCII (base64url): 8 characters are 8 bytes. */
            snprintf(sid, sizeof sid, "%.*s\xe2\x80\xa6", (int)(s.len < 8 ? s.len : 8), (const char *)s.data);
        }
        if (libsession_request_session_json(req, &s) == LIBSESSION_RESULT_OK && s.data != NULL &&
            cookie_attributes((const char *)s.data, s.len, raw, sizeof raw) == 0 && raw[0] != '\0') {
            len = 0;
            cookie[0] = '\0';
            if (append_escaped(cookie, sizeof cookie, &len, raw, strlen(raw)) != 0) {
                snprintf(cookie, sizeof cookie, "%s", NONE);
            }
        }
    }
    w = snprintf(out, size, TEMPLATE, page->title, page->what, views, user, sid, cookie);
    return w < 0 || (size_t)w >= size ? -1 : 0;
}

/* ----- the event counters ----- */

/* The events' names by kind (libsession_event_kind 1..15). */
static const char *const EVENT_NAMES[] = {"no_cookie",        "signature_invalid",    "verified_by_old_key",
                                          "record_not_found", "record_expired",       "record_corrupt",
                                          "store_error",      "misuse",               "ignored",
                                          "fingerprint_mismatch", "conflict",         "absolute_timeout",
                                          "idle_timeout",     "regenerate_grace",     "regenerate_grace_ended"};
#define EVENT_KINDS (sizeof EVENT_NAMES / sizeof EVENT_NAMES[0])

static unsigned long long requests;
static unsigned long long events[EVENT_KINDS];

void stats_count(libsession_request *req) {
    libsession_event ev;
    char line[1024];
    while (libsession_request_poll_event(req, &ev) == LIBSESSION_RESULT_OK && ev.kind != LIBSESSION_EVENT_KIND_NONE) {
        if (ev.kind >= 1 && (size_t)ev.kind <= EVENT_KINDS) {
            events[ev.kind - 1]++;
        }
    }
    if (++requests % 100 == 0 && stats_json(line, sizeof line) == 0) {
        fprintf(stderr, "libsession demo stats: %s\n", line);
    }
}

int stats_json(char *out, size_t size) {
    size_t len = 0, i;
    int w = snprintf(out, size, "{\"requests\":%llu,\"events\":{", requests);
    if (w < 0 || (size_t)w >= size) {
        return -1;
    }
    len = (size_t)w;
    for (i = 0; i < EVENT_KINDS; i++) {
        w = snprintf(out + len, size - len, "%s\"%s\":%llu", i ? "," : "", EVENT_NAMES[i], events[i]);
        if (w < 0 || (size_t)w >= size - len) {
            return -1;
        }
        len += (size_t)w;
    }
    return append(out, size, &len, "}}");
}

int user_param(const char *query, char *out, size_t size) {
    const char *p = query;
    snprintf(out, size, "demo");
    while (p != NULL && *p != '\0') {
        size_t piece = strcspn(p, "&");
        if (piece >= 5 && memcmp(p, "user=", 5) == 0) {
            const char *v = p + 5;
            size_t n = piece - 5;
            if (n == 0) {
                return 0;
            }
            if (n > 64 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") < n ||
                n + 1 > size) {
                return -1;
            }
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
        p += piece;
        if (*p == '&') {
            p++;
        }
    }
    return 0;
}
