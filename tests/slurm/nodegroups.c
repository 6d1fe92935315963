/* nodegroups.c -- which ranks does Open MPI put on one node?
 *
 * The hierarchical coordinator (issue 12) will elect one leader per node with
 * MPI_Comm_split_type(MPI_COMM_TYPE_SHARED); this program prints exactly the
 * groups that call forms, so a test can see whether a multi-node SLURM job
 * really gives MPI more than one node.  Rank 0 prints, for every rank
 *
 *     rank R host H slurmd S group G local L/N
 *
 * (H from gethostname, S from SLURMD_NODENAME, G the world rank of the
 * group's leader, L the rank in the group of size N), then one summary line
 *
 *     groups K: 0,1 2,3
 *
 * listing the world ranks of each group.  Before printing, every group
 * leader exchanges a message with every other leader and all ranks join an
 * allreduce, so a layout whose groups cannot talk to each other fails here
 * instead of passing.  Exit 0, or 1 when an MPI call or the exchange fails.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NAME = 64, LINE = 3 * NAME + 64 };

static int check(int rc, const char *what)
{
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "nodegroups: %s failed (%d)\n", what, rc);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return rc;
}

/* Every leader sends its world rank to every other leader and checks what
 * it receives: traffic between the groups, whatever transport MPI picked. */
static int leaders_exchange(MPI_Comm leaders)
{
    int me, n, bad = 0;
    MPI_Comm_rank(leaders, &me);
    MPI_Comm_size(leaders, &n);
    int *out = malloc(sizeof *out * (size_t)n), *in = malloc(sizeof *in * (size_t)n);
    if (!out || !in) {
        free(out);
        free(in);
        return 1;
    }
    for (int i = 0; i < n; ++i)
        out[i] = 1000 * me + i;
    check(MPI_Alltoall(out, 1, MPI_INT, in, 1, MPI_INT, leaders), "MPI_Alltoall");
    for (int i = 0; i < n; ++i)
        bad |= in[i] != 1000 * i + me;
    free(out);
    free(in);
    return bad;
}

int main(int argc, char **argv)
{
    check(MPI_Init(&argc, &argv), "MPI_Init");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, size, local, nlocal, leader;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    MPI_Comm node, leaders;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    MPI_Comm_rank(node, &local);
    MPI_Comm_size(node, &nlocal);
    leader = rank;
    check(MPI_Bcast(&leader, 1, MPI_INT, 0, node), "MPI_Bcast");
    check(MPI_Comm_split(MPI_COMM_WORLD, local == 0 ? 0 : MPI_UNDEFINED, rank, &leaders), "MPI_Comm_split");

    int bad = 0, anybad = 0;
    if (leaders != MPI_COMM_NULL)
        bad = leaders_exchange(leaders);
    check(MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");

    char host[NAME] = "?", line[LINE];
    gethostname(host, sizeof host - 1);
    const char *slurmd = getenv("SLURMD_NODENAME");
    snprintf(line, sizeof line, "rank %d host %s slurmd %s group %d local %d/%d", rank, host,
             slurmd ? slurmd : "-", leader, local, nlocal);
    char *lines = rank == 0 ? malloc((size_t)size * LINE) : NULL;
    int *leader_of = rank == 0 ? malloc(sizeof *leader_of * (size_t)size) : NULL;
    if (rank == 0 && (!lines || !leader_of)) {
        fprintf(stderr, "nodegroups: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    check(MPI_Gather(line, LINE, MPI_CHAR, lines, LINE, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Gather");
    check(MPI_Gather(&leader, 1, MPI_INT, leader_of, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");

    if (rank == 0) {
        int groups = 0;
        for (int r = 0; r < size; ++r) {
            printf("%s\n", lines + (size_t)r * LINE);
            groups += leader_of[r] == r;
        }
        /* a group's members follow its leader in world-rank order */
        printf("groups %d:", groups);
        for (int g = 0; g < size; ++g) {
            if (leader_of[g] != g)
                continue;
            printf(" ");
            for (int r = g, first = 1; r < size; ++r)
                if (leader_of[r] == g) {
                    printf(first ? "%d" : ",%d", r);
                    first = 0;
                }
        }
        printf("\n");
        if (anybad)
            fprintf(stderr, "nodegroups: the leaders' exchange returned wrong values\n");
        free(lines);
        free(leader_of);
    }
    if (leaders != MPI_COMM_NULL)
        MPI_Comm_free(&leaders);
    MPI_Comm_free(&node);
    MPI_Finalize();
    return anybad ? 1 : 0;
}
