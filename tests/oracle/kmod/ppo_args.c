// SPDX-License-Identifier: GPL-2.0
/*
 * pporacle: op lines, as ppsim's op_line.h writes them but with the module's indices:
 *   page_pool_put_page pool=1 page=3 allow_direct=true @napi
 * A bare key is a bool set to true; "#" starts a comment; values are decimal or 0x hex.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include "ppo.h"

int ppo_parse(char *line, struct ppo_args *a)
{
	char *tok, *p = line;

	memset(a, 0, sizeof(*a));
	while ((tok = strsep(&p, " \t\r\n")) != NULL) {
		char *eq;

		if (!*tok)
			continue;
		if (*tok == '#')
			break;
		if (!a->name) {
			a->name = tok;
			continue;
		}
		if (*tok == '@') {
			strscpy(a->ctx, tok + 1, sizeof(a->ctx));
			continue;
		}
		if (a->n >= PPO_MAX_ARGS) {
			ppo_err("too many arguments (max %d)", PPO_MAX_ARGS);
			return -E2BIG;
		}
		eq = strchr(tok, '=');
		if (eq) {
			*eq = 0;
			a->val[a->n] = eq + 1;
		} else {
			a->val[a->n] = "true";
		}
		a->key[a->n++] = tok;
	}
	return a->name ? 0 : -ENODATA;
}

const char *ppo_arg(struct ppo_args *a, const char *key)
{
	int i;

	for (i = 0; i < a->n; i++) {
		if (!strcmp(a->key[i], key)) {
			a->used[i] = true;
			return a->val[i];
		}
	}
	return NULL;
}

int ppo_arg_int(struct ppo_args *a, const char *key, long def, long *out)
{
	const char *v = ppo_arg(a, key);

	*out = def;
	if (!v)
		return 0;
	if (kstrtol(v, 0, out)) {
		ppo_err("%s: \"%s\" is not an integer", key, v);
		return -EINVAL;
	}
	return 0;
}

int ppo_arg_bool(struct ppo_args *a, const char *key, bool def, bool *out)
{
	const char *v = ppo_arg(a, key);

	*out = def;
	if (!v)
		return 0;
	if (!strcmp(v, "on") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no")) {
		*out = false;
		return 0;
	}
	if (kstrtobool(v, out)) {
		ppo_err("%s: \"%s\" is not a bool", key, v);
		return -EINVAL;
	}
	return 0;
}

/* An index into one of the module's tables: 1..max; 0 (or absent, when not required) = none. */
int ppo_arg_index(struct ppo_args *a, const char *key, int max, bool required, int *out)
{
	long v;
	int err = ppo_arg_int(a, key, 0, &v);

	if (err)
		return err;
	if (v == 0 && required) {
		ppo_err("%s: required", key);
		return -EINVAL;
	}
	if (v < 0 || v > max) {
		ppo_err("%s: %ld is not one of this sequence's (1..%d)", key, v, max);
		return -ENOENT;
	}
	*out = v;
	return 0;
}

const char *ppo_unused_arg(struct ppo_args *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (!a->used[i])
			return a->key[i];
	return NULL;
}
