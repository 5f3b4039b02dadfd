#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/blocklist.h"
#include "util/error.h"

using dilute::Error;
using dilute::parseBlockList;

TEST(BlockList, ParsesIndicesInTheOrderGiven) {
    EXPECT_EQ(parseBlockList("0,2,4", 5), (std::vector<int>{0, 2, 4}));
    EXPECT_EQ(parseBlockList("4,0", 5), (std::vector<int>{4, 0}));
    EXPECT_EQ(parseBlockList("", 5), std::vector<int>{});
    EXPECT_EQ(parseBlockList("1,,3", 5), (std::vector<int>{1, 3}));
}

TEST(BlockList, NamesTheItemAtFault) {
    auto message = [](const std::string& text) {
        try {
            parseBlockList(text, 5);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message("0,9").find("block 9 out of range [0, 5)"), std::string::npos) << message("0,9");
    EXPECT_NE(message("0,x").find("'x' is not a block index"), std::string::npos);
    EXPECT_NE(message("1,2x").find("'2x' is not a block index"), std::string::npos);
    EXPECT_NE(message("2,2").find("listed twice"), std::string::npos);
    EXPECT_NE(message("-1").find("out of range"), std::string::npos);
    EXPECT_NE(message("99999999999999").find("is not a block index"), std::string::npos);
}
