/* Minimal JSON string escaping for the hot, allocation-free paths (log lines, metrics labels).
 * Documents are built and parsed with jansson everywhere else. */
#ifndef OKS_JSON_ESCAPE_H
#define OKS_JSON_ESCAPE_H

#include <stddef.h>

/* Write `,"key":"value"` escaped into buf (NUL-terminated); never writes past cap.
 * Returns the number of bytes written, or 0 (nothing written) if it would not fit whole. */
size_t oks_json_escape_field(char *buf, size_t cap, const char *key, const char *value);

/* Escape s as JSON string content (no quotes) into buf; returns bytes written or 0 if it
 * does not fit. */
size_t oks_json_escape(char *buf, size_t cap, const char *s);

#endif
