/* The spec parser's messages and its YAML document: the event-stream
 * checks before libyaml composes it, and the node accessors. */
#include "config.h"

#include "spec_internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages -------------------------------------------------------------------- */

/* Formats a message into err with control characters escaped: keys,
 * values and paths come from the user and may hold newlines, and the CLI
 * promises one line. */

ssm_status spec_one_line(ssm_error *err, ssm_status code, const char *fmt, ...)
{
    char raw[SSM_ERROR_MSG_MAX], clean[SSM_ERROR_MSG_MAX];
    size_t j = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    for (const unsigned char *s = (const unsigned char *)raw; *s && j + 5 < sizeof clean; ++s) {
        if (*s == '\n')
            j += (size_t)snprintf(clean + j, 3, "\\n");
        else if (*s < 0x20 || *s == 0x7f)
            j += (size_t)snprintf(clean + j, 5, "\\x%02x", *s);
        else
            clean[j++] = (char)*s;
    }
    clean[j] = '\0';
    return ssm_fail(err, code, "%s", clean);
}


ssm_status spec_fail_at(const parser *p, yaml_mark_t mark, const char *key, const char *fmt, ...)
{
    char what[SSM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (key)
        return spec_one_line(p->err, SSM_EINVAL, "%s:%zu:%zu: key '%s': %s", p->path, mark.line + 1, mark.column + 1,
                        key, what);
    return spec_one_line(p->err, SSM_EINVAL, "%s:%zu:%zu: %s", p->path, mark.line + 1, mark.column + 1, what);
}

ssm_status spec_no_memory(const parser *p)
{
    return ssm_fail(p->err, SSM_ENOMEM, "%s: out of memory", p->path);
}

/* Levenshtein distance of short words (longer ones count as far apart). */
static size_t edit_distance(const char *a, const char *b)
{
    enum { MAX_WORD = 48 };
    size_t la = strlen(a), lb = strlen(b), row[MAX_WORD + 1];
    if (la > MAX_WORD || lb > MAX_WORD)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; ++j)
        row[j] = j;
    for (size_t i = 1; i <= la; ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}


void spec_suggest_start(suggestion *s, const char *word)
{
    memset(s, 0, sizeof *s);
    s->word = word;
    s->best_distance = (size_t)-1;
}

void spec_suggest_add(suggestion *s, const char *name)
{
    size_t d = edit_distance(s->word, name);
    if (d < s->best_distance) {
        s->best_distance = d;
        s->best = name;
    }
    if (s->len < sizeof s->known) {
        int fits = s->len + strlen(name) + 8 < sizeof s->known;
        s->len += (size_t)snprintf(s->known + s->len, sizeof s->known - s->len, "%s%s", s->len ? ", " : "",
                                   fits ? name : "...");
        if (!fits)
            s->len = sizeof s->known;
    }
}

/* "; did you mean 'dt'?" when a name is within two edits, else "". */
const char *spec_suggest_guess(const suggestion *s, char *buf, size_t size)
{
    buf[0] = '\0';
    if (s->best && s->best_distance <= 2 && s->best_distance < strlen(s->word))
        snprintf(buf, size, "; did you mean '%s'?", s->best);
    return buf;
}

/* ---- YAML --------------------------------------------------------------------------- */

/* Reader errors (bad UTF-8, control characters) carry a byte offset
 * instead of a mark. */
static yaml_mark_t mark_of_offset(const parser *p, size_t offset)
{
    yaml_mark_t m = {offset, 0, 0};
    for (size_t k = 0; k < offset && k < p->len; ++k) {
        if (p->text[k] == '\n') {
            ++m.line;
            m.column = 0;
        } else if (((unsigned char)p->text[k] & 0xc0) != 0x80) {   /* not a UTF-8 continuation */
            ++m.column;
        }
    }
    return m;
}

static ssm_status syntax_error(const parser *p, const yaml_parser_t *yp)
{
    if (yp->error == YAML_MEMORY_ERROR)
        return spec_no_memory(p);
    const char *problem = yp->problem ? yp->problem : "malformed document";
    if (yp->error == YAML_READER_ERROR)
        return spec_fail_at(p, mark_of_offset(p, yp->problem_offset), NULL, "YAML syntax: %s (#x%X)", problem,
                       (unsigned)yp->problem_value);
    if (yp->context)
        return spec_fail_at(p, yp->problem_mark, NULL, "YAML syntax: %s %s (from line %zu)", problem, yp->context,
                       yp->context_mark.line + 1);
    return spec_fail_at(p, yp->problem_mark, NULL, "YAML syntax: %s", problem);
}

/* The tags of YAML's core schema (a spec needs no others); `!` is the
 * non-specific tag of a quoted scalar. */
static int core_schema_tag(const char *tag)
{
    static const char *const core[] = {"!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:int",
                                       "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                                       "tag:yaml.org,2002:null", "tag:yaml.org,2002:seq",
                                       "tag:yaml.org,2002:map"};
    for (size_t k = 0; k < sizeof core / sizeof core[0]; ++k)
        if (strcmp(tag, core[k]) == 0)
            return 1;
    return 0;
}

/* The event pass: syntax, anchors, aliases, tags, nesting depth and the
 * number of documents.  The depth is counted here, on the events, because
 * the loader that composes the document takes time quadratic in the depth
 * (tens of seconds for 10^5 levels) and recursion in what walks it. */
ssm_status spec_prescan(const parser *p)
{
    yaml_parser_t yp;
    yaml_event_t ev;
    size_t documents = 0, depth = 0;
    int end = 0;
    ssm_status st = SSM_OK;
    if (!yaml_parser_initialize(&yp))
        return spec_no_memory(p);
    yaml_parser_set_input_string(&yp, (const unsigned char *)p->text, p->len);
    while (st == SSM_OK && !end) {
        if (!yaml_parser_parse(&yp, &ev)) {
            st = syntax_error(p, &yp);
            break;
        }
        const yaml_char_t *anchor = NULL, *tag = NULL;
        switch (ev.type) {
        case YAML_ALIAS_EVENT:
            st = spec_fail_at(p, ev.start_mark, NULL, "YAML aliases (*%s) are not supported: write the value out",
                         (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            anchor = ev.data.scalar.anchor;
            tag = ev.data.scalar.tag;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            anchor = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                          : ev.data.mapping_start.anchor;
            tag = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.tag : ev.data.mapping_start.tag;
            if (++depth > SW_SPEC_MAX_DEPTH)
                st = spec_fail_at(p, ev.start_mark, NULL, "lists and mappings nested deeper than %d levels",
                             SW_SPEC_MAX_DEPTH);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            --depth;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1)
                st = spec_fail_at(p, ev.start_mark, NULL, "a spec is one YAML document, a second one starts here");
            break;
        case YAML_STREAM_END_EVENT:
            end = 1;
            break;
        default:
            break;
        }
        if (st == SSM_OK && anchor)
            st = spec_fail_at(p, ev.start_mark, NULL, "YAML anchors (&%s) are not supported: write the values out",
                         (const char *)anchor);
        if (st == SSM_OK && tag && !core_schema_tag((const char *)tag)) {
            /* shown as written for the standard prefix: !!binary, not tag:yaml.org,2002:binary */
            const char *shown = (const char *)tag, *yaml_org = "tag:yaml.org,2002:";
            int standard = strncmp(shown, yaml_org, strlen(yaml_org)) == 0;
            st = spec_fail_at(p, ev.start_mark, NULL, "YAML tag '%s%s' is not supported (only the core schema's: "
                         "!!str, !!int, !!float, !!bool, !!null, !!seq, !!map)", standard ? "!!" : "",
                         standard ? shown + strlen(yaml_org) : shown);
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&yp);
    if (st == SSM_OK && documents == 0)
        st = spec_one_line(p->err, SSM_EINVAL, "%s: the spec is empty (expected a mapping with kind, fixed, axes, ...)",
                      p->path);
    return st;
}

ssm_status spec_load(parser *p)
{
    yaml_parser_t yp;
    ssm_status st = SSM_OK;
    if (!yaml_parser_initialize(&yp))
        return spec_no_memory(p);
    yaml_parser_set_input_string(&yp, (const unsigned char *)p->text, p->len);
    if (yaml_parser_load(&yp, &p->doc))
        p->have_doc = 1;
    else
        st = syntax_error(p, &yp);   /* the prescan passed, so only memory can run out here */
    yaml_parser_delete(&yp);
    return st;
}

yaml_node_t *spec_node(parser *p, yaml_node_item_t id)
{
    return yaml_document_get_node(&p->doc, id);
}

const char *spec_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

const char *spec_node_kind(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? "a scalar" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
}

size_t spec_n_pairs(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

size_t spec_n_items(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}
