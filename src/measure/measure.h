/*
 * The row sink that scanfile hands to the decoders: computes luma once per
 * row and feeds statistics and hashes. Never sees files.
 */
#ifndef IA_MEASURE_H
#define IA_MEASURE_H

#include <stdint.h>

#include "core/core.h"
#include "measure/hash.h"

typedef struct ia_measure ia_measure;

int ia_measure_new(ia_measure **out);
void ia_measure_free(ia_measure *m);
/* Its hasher takes its tables from t (see ia_hasher_share). */
void ia_measure_share(ia_measure *m, ia_hash_tables *t);
/* The sink to pass to a decoder for the next image. */
void ia_measure_sink(ia_measure *m, ia_rowsink *sink);
/* After a complete decode: writes stats and hashes into res and sets
 * res->have_measures. Call only when every row was delivered. */
void ia_measure_finish(ia_measure *m, ia_file_result *res);

#endif
