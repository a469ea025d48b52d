/* rng.h — seeded random streams, one per named component.
 *
 * A stream's state derives from (run seed, stream name) only — never from
 * creation order — so adding a host or a model never shifts the numbers any
 * other component draws.  The generator is xoshiro256** seeded through
 * SplitMix64 from a 64-bit hash of the name mixed with the seed; every draw
 * is computed the same way on every machine of one kind (the distributions
 * use libm's log/pow/sqrt, which are deterministic for a given libm).
 */
#ifndef NETSIM_RNG_H
#define NETSIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

#include "netsim/sim.h"

typedef struct ns_rng {
    uint64_t s[4];          /* xoshiro256** state, never all zero */
} ns_rng;

/* Initialises r as the stream `name` of a run with `seed`. */
void ns_rng_init(ns_rng *r, uint64_t seed, const char *name);

/* The sim's stream `name`, created on first use, owned by the sim. */
ns_rng *ns_sim_rng(ns_sim *sim, const char *name);

uint64_t ns_rng_u64(ns_rng *r);                      /* uniform 64 bits */
double   ns_rng_uniform(ns_rng *r);                  /* [0, 1), 53 bits */
double   ns_rng_uniform_range(ns_rng *r, double a, double b); /* [a, b) */
uint64_t ns_rng_below(ns_rng *r, uint64_t n);        /* [0, n), unbiased; n > 0 */
double   ns_rng_exp(ns_rng *r, double mean);         /* exponential, mean > 0 */
double   ns_rng_normal(ns_rng *r, double mu, double sigma); /* sigma >= 0 */
bool     ns_rng_bernoulli(ns_rng *r, double p);      /* true with prob p */
/* Pareto type I: scale xm > 0 (the minimum), shape alpha > 0. */
double   ns_rng_pareto(ns_rng *r, double xm, double alpha);
/* Zipf on {1..n}: P(k) proportional to 1/k^s, n >= 1, s > 0 (s = 1 allowed). */
uint64_t ns_rng_zipf(ns_rng *r, uint64_t n, double s);

#endif
