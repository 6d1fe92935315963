/* The kind "train" gained the parameter precision after specs had been
 * written: it is silent in the canonical text at its default, so every
 * existing spec keeps its task hashes and seeds.  Checked here against
 * the hashes the binary before the change gave jobs/examples/learning.yaml
 * (/tasks/hash of its run), and for the parameter set explicitly. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/registry.h"
#include "sweep/spec.h"
#include "testutil.h"

/* /tasks/hash of 'ssmsweep run jobs/examples/learning.yaml' at commit e7472df */
static const uint64_t learning_hashes[48] = {
    UINT64_C(2775500715776851115), UINT64_C(15375967256878799457), UINT64_C(10239220485340883573),
    UINT64_C(1901907223793705210), UINT64_C(11688026892429443341), UINT64_C(3951588513614154773),
    UINT64_C(12752947976172197229), UINT64_C(3310326942357355559), UINT64_C(17534491129494365600),
    UINT64_C(11433764083711519063), UINT64_C(9891423551721009188), UINT64_C(10521342232278026862),
    UINT64_C(17224377368076935938), UINT64_C(15056935659752868584), UINT64_C(17742872430544396301),
    UINT64_C(6173862159070131968), UINT64_C(10086500620894477187), UINT64_C(18125694535310921776),
    UINT64_C(15353421363084687998), UINT64_C(5413197593828751335), UINT64_C(6544540951104845613),
    UINT64_C(787763573172684607), UINT64_C(1652343141860721766), UINT64_C(3887804667518105295),
    UINT64_C(14954123974065158560), UINT64_C(10616162518558162999), UINT64_C(9391835970904478010),
    UINT64_C(16365653081160401990), UINT64_C(11623852188826472912), UINT64_C(11796266405875324198),
    UINT64_C(7380253748512414218), UINT64_C(16632395872427123345), UINT64_C(16577919923328848928),
    UINT64_C(15673474447724784307), UINT64_C(6682978923721612061), UINT64_C(18251701317937313344),
    UINT64_C(10799879578455575213), UINT64_C(12555172091133335340), UINT64_C(5188001468833379074),
    UINT64_C(15656788411810383380), UINT64_C(4836261569910018298), UINT64_C(10585622209525617165),
    UINT64_C(7572547414600029335), UINT64_C(2086637071996487218), UINT64_C(7995926094131016566),
    UINT64_C(18358154677861151535), UINT64_C(10447159436352337136), UINT64_C(4580919228023006373)
};

static int load(const char *text, sw_tasks *t)
{
    ssm_error err;
    if (sw_spec_parse("test.yaml", text, strlen(text), &ex_registry, t, &err) != SSM_OK) {
        printf("spec: %s\n", err.message);
        return 0;
    }
    return 1;
}

int main(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/jobs/examples/learning.yaml", getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".");
    sw_tasks t = {0};
    char *text = NULL;
    ssm_error err;
    ssm_status st = sw_spec_load(path, &ex_registry, &t, &text, &err);
    CHECK(st == SSM_OK && t.n_tasks == 48, "learning.yaml expands to 48 tasks (%s)", st ? err.message : "ok");
    size_t same = 0;
    for (size_t i = 0; st == SSM_OK && i < t.n_tasks && i < 48; ++i)
        same += t.hash[i] == learning_hashes[i];
    CHECK(same == 48, "learning.yaml: %zu of 48 task hashes as before the parameter precision existed", same);
    char canon[4096];
    sw_task_canonical(&t, 0, canon, sizeof canon);
    CHECK(st == SSM_OK && !strstr(canon, "precision"), "the default precision is not in the canonical text");
    sw_tasks_free(&t);
    free(text);

    static const char base[] = "kind: train\nseed: 3\nfixed: {epochs: 1, n_train: 4, n_val: 2, length: 64, delay: 5";
    char spec[512];
    sw_tasks plain = {0}, f64 = {0}, f32 = {0};
    snprintf(spec, sizeof spec, "%s}\n", base);
    int ok = load(spec, &plain);
    snprintf(spec, sizeof spec, "%s, precision: float64}\n", base);
    ok = ok && load(spec, &f64);
    snprintf(spec, sizeof spec, "%s, precision: float32}\n", base);
    ok = ok && load(spec, &f32);
    CHECK(ok, "specs with and without precision parse");
    if (ok) {
        CHECK(plain.hash[0] == f64.hash[0] && plain.seed[0] == f64.seed[0],
              "precision: float64 written out = the default: same hash and seed");
        sw_task_canonical(&f32, 0, canon, sizeof canon);
        CHECK(f32.hash[0] != plain.hash[0] && strstr(canon, ";precision=float32;"),
              "precision: float32 is a different task, named in its canonical text (%s)", canon);
    }
    sw_tasks_free(&plain);
    sw_tasks_free(&f64);
    sw_tasks_free(&f32);
    snprintf(spec, sizeof spec, "%s, precision: float16}\n", base);
    sw_tasks bad = {0};
    st = sw_spec_parse("bad.yaml", spec, strlen(spec), &ex_registry, &bad, &err);
    CHECK(st == SSM_EINVAL && strstr(err.message, "precision"), "precision: float16 is refused: %s", err.message);
    sw_tasks_free(&bad);
    return test_summary("test_train_kind");
}
