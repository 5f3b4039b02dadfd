#pragma once
// One exception type for every user-facing failure: the message names the file and the problem.
#include <stdexcept>
#include <string>

namespace dilute {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Thrown when a job stops because its cancel token was set.
class Cancelled : public Error {
public:
    Cancelled() : Error("cancelled") {}
};

}  // namespace dilute
