#pragma once
// The per-image comparison of two models on the same labelled images (issue 30): which images
// change prediction, the confusion matrices, the largest changes of the correct-class probability.
#include "inspect/results.h"

namespace dilute::inspect {

/// Fills r.comparison from r.images (labels, both predictions and label probabilities) for
/// `classes` classes; images without a label (-1) are left out of every figure.
void compareImages(InspectResult& r, const std::string& vs, size_t maxChanges = 16);

}  // namespace dilute::inspect
