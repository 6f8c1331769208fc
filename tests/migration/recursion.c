/* Deep recursion (>= 1000 frames) with pointers into stack locals and heap nodes that point
 * into stack locals; the checksum depends on every frame's live values. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *next;
    long *slot; /* points into a stack local of the frame that made the node */
    long depth;
};

static long walk(struct node *list) {
    long sum = 0;
    for (struct node *n = list; n; n = n->next)
        sum = sum * 31 + *n->slot + n->depth;
    return sum;
}

static long descend(long depth, long limit, struct node *list, long acc) {
    long local[4] = {depth, depth * depth, acc & 0xffff, 7};
    struct node *n = malloc(sizeof *n);
    n->next = list;
    n->slot = &local[depth % 4];
    n->depth = depth;
    long result;
    if (depth == limit) {
        result = walk(n);
    } else {
        long below = descend(depth + 1, limit, n, acc * 3 + depth);
        /* values live across the call: depth, acc, local[], n */
        local[0] += below & 0xff;
        result = below ^ (acc + local[0] + local[1] + local[2] + n->depth);
    }
    free(n);
    return result;
}

int main(void) {
    long total = 0;
    for (int round = 0; round < 12; round++) {
        long r = descend(0, 1200 + round * 10, NULL, round);
        total = total * 1000003 + r;
        printf("round %d: %ld\n", round, r);
    }
    printf("total %ld\n", total);
    return 0;
}
