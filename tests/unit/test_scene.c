/* tests/unit/test_scene.c — the scene schema: defaults, the resolved document, cross-key rules,
 * and suggestions for typos. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config/scene.h"

static nnxr_scene *parse(const char *text, nnxr_error *err)
{
    return nnxr_scene_parse(text, strlen(text), "dir/my_scene.toml", err);
}

static void expect_error(const char *text, const char *message)
{
    nnxr_error err = {{0}};
    nnxr_scene *s = parse(text, &err);
    CHECKF(s == NULL, "accepted: %s", text);
    CHECK_CONTAINS(err.message, message);
    nnxr_scene_free(s);
}

static void test_defaults(void)
{
    nnxr_error err = {{0}};
    nnxr_scene *s = parse("", &err);
    CHECKF(s != NULL, "%s", err.message);
    if (!s)
        return;
    CHECK(!strcmp(s->scene.name, "my_scene"));
    CHECK(!strcmp(s->scene.mode, "auto"));
    CHECK(s->train.lr == 0.05 && s->train.momentum == 0.9 && s->train.batch == 64);
    CHECK(s->train.seed == s->scene.seed);
    CHECK(s->view.width == 1280 && s->view.height == 720 && s->view.background_len == 3);
    CHECK(s->model.hidden_count == 2 && s->model.hidden[0] == 16);
    CHECK(s->dataset.feature_count == 2 && !strcmp(s->dataset.features[1], "x2"));
    CHECK(s->plugin_count == 0);

    /* Every schema key appears in the resolved document. */
    const nnxr_scene_key_doc *keys;
    size_t n = nnxr_scene_schema(&keys);
    for (size_t i = 0; i < n; i++) {
        const nnxr_toml_value *t = nnxr_toml_table_get(s->resolved, keys[i].table);
        CHECKF(t && nnxr_toml_table_get(t, keys[i].key), "resolved lacks %s.%s", keys[i].table,
               keys[i].key);
    }
    nnxr_scene_free(s);
}

static void test_values_and_round_trip(void)
{
    const char *text = "[scene]\nname = \"demo\"\nseed = 7\n"
                       "[dataset]\nkind = \"playground\"\nplayground = \"xor\"\n"
                       "features = [\"x1\", \"x2\", \"sin(x1)\"]\nnoise = 0.25\n"
                       "[model]\nkind = \"mlp\"\nhidden = [8, 4, 2]\nactivation = \"tanh\"\n"
                       "[train]\nlr = 3\noptimizer = \"adam\"\n"
                       "[[plugin]]\nid = \"a.b\"\nfoo = 1\n[[plugin]]\nid = \"c.d\"\n";
    nnxr_error err = {{0}};
    nnxr_scene *s = parse(text, &err);
    CHECKF(s != NULL, "%s", err.message);
    if (!s)
        return;
    CHECK(!strcmp(s->scene.name, "demo") && s->scene.seed == 7 && s->train.seed == 7);
    CHECK(s->model.hidden_count == 3 && s->model.hidden[2] == 2);
    CHECK(s->train.lr == 3.0); /* an integer where a float is expected is fine */
    CHECK(s->dataset.feature_count == 3 && !strcmp(s->dataset.features[2], "sin(x1)"));
    CHECK(s->plugin_count == 2 && !strcmp(s->plugins[1].id, "c.d"));
    CHECK(s->plugins[0].line == 16);

    /* The resolved scene, written and read again, is the same scene. */
    const char *path = NNXR_TEST_OUT "/resolved_round_trip.toml";
    FILE *f = fopen(path, "w");
    CHECK(f && nnxr_scene_write_resolved(s, f));
    if (f)
        fclose(f);
    nnxr_scene *again = nnxr_scene_load(path, &err);
    CHECKF(again != NULL, "%s", err.message);
    if (again) {
        CHECK(!strcmp(again->scene.name, "demo") && again->train.lr == 3.0);
        CHECK(again->model.hidden_count == 3 && again->dataset.noise == 0.25);
        CHECK(!strcmp(again->train.optimizer, "adam"));
        CHECK(again->plugin_count == 2 && !strcmp(again->plugins[0].id, "a.b"));
        nnxr_scene_free(again);
    }
    nnxr_scene_free(s);
}

static void test_errors(void)
{
    expect_error("[train]\nlr = \"fast\"\n",
                 "dir/my_scene.toml:2:1: [train] lr: expected a number in [0, 10], got a string");
    expect_error("[train]\nmomentun = 0.5\n", "unknown key 'momentun' (did you mean 'momentum'?)");
    expect_error("[view]\nwidth = 8\n", "[view] width: expected an integer in [16, 16384], got 8");
    expect_error("[model]\nhidden = [8, \"x\"]\n", "[model] hidden[1]: expected an integer");
    expect_error("[model]\nhidden = 8\n", "[model] hidden: expected an array of integers, got an integer");
    expect_error("[dataset]\nfeatures = [\"x1\", \"x3\"]\n", "features[1]: expected one of");
    expect_error("[dataset]\nfeatures = [\"x1\", \"x1\"]\n", "'x1' is listed twice");
    expect_error("[model]\nkind = \"mlp\"\n", "[model] kind: model 'mlp' needs a [dataset] kind");
    expect_error("[dataset]\nkind = \"playground\"\n[model]\nkind = \"cnn\"\n",
                 "model 'cnn' needs an image dataset");
    expect_error("[dataset]\nkind = \"idx\"\n", "[dataset] path: kind 'idx' needs a path");
    expect_error("[dataset]\nkind = \"playground\"\njoin_test = true\n",
                 "[dataset] join_test: joins the test file of an image set");
    expect_error("[dataset]\nkind = \"fashion-mnist\"\n[model]\nkind = \"cnn\"\n"
                 "layers = [\"conv8_k4\"]\n", "'conv8_k4' is not a layer");
    expect_error("train = 3\n", "'train' must be a table ([train]), got integer");
    expect_error("[[plugin]]\nid = 3\n", "[[plugin]] #1: missing key 'id'");
    expect_error("[scene]\nseed = 1\nseed = 2\n", "dir/my_scene.toml:3:");
    expect_error("[audio]\nenabled = 1\n", "[audio] enabled: expected a boolean");
}

static void test_suggestions(void)
{
    static const char *const known[] = {"lr", "momentum", "batch", "optimizer", NULL};
    CHECK(nnxr_edit_distance("kitten", "sitting") == 3);
    CHECK(nnxr_edit_distance("", "abc") == 3);
    CHECK(nnxr_edit_distance("mpl", "mlp") == 1);
    CHECK(!strcmp(nnxr_nearest_word("optimiser", known), "optimizer"));
    CHECK(!strcmp(nnxr_nearest_word("bach", known), "batch"));
    CHECK(!strcmp(nnxr_nearest_word("lrate", known), "lr"));
    CHECK(nnxr_nearest_word("completely_else", known) == NULL);
}

int main(void)
{
    test_defaults();
    test_values_and_round_trip();
    test_errors();
    test_suggestions();
    return check_finish();
}
