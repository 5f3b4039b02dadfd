#pragma once
// The inspection job (SPEC section 7, `dilute inspect`, the workbench's Inspect view): for a sample
// of images (or a fixed input tensor), each block's class-token attention, attention rollout and
// mean attention distance, and with a second model the per-image comparison.
#include <string>

#include "inspect/options.h"
#include "inspect/results.h"

namespace dilute::inspect {

/// Opens opts.model (and opts.vs) and runs; with opts.out_dir, writes it there (writeInspect),
/// checked writable before the work starts. Refuses before allocating when the maps would not fit
/// in memory (images x blocks x heads x patches floats), naming the figures and the options.
InspectResult runInspect(const InspectOptions& opts, const InspectObserver& obs = {},
                         const CancelToken* cancel = nullptr);

/// Bytes the job keeps for `images` images of a model with these dimensions (thumbnails, maps,
/// logits) plus one batch's attention matrices: what the memory check compares.
uint64_t inspectBytes(uint64_t images, int depth, int heads, int tokens, int patches, int classes, int thumb,
                      int batch);

/// Writes DIR/inspect.json, DIR/inspect.safetensors and (with `overlays` > 0, OpenCV builds) the
/// first `overlays` images' PNGs under DIR/overlays/, each file atomically.
void writeInspect(const std::string& dir, const InspectResult& r, int overlays);
std::string inspectToJson(const InspectResult& r);

using InspectJob = Job<InspectOptions, InspectResult>;
const InspectJob& inspectJob();

}  // namespace dilute::inspect
