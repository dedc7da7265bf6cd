// ResidueMatrix against a dense copy of the stacked residue matrix: products, Gram, solves, traces.
#include "residue/rns/residue_matrix.h"

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

struct Shape {
  uint32_t k;
  std::vector<uint32_t> moduli;
};

/// Moduli above k, around k/2, below k/2, a single modulus, and k far from the product.
const std::vector<Shape> kShapes = {
    {30, {37, 41}},   {40, {23, 29, 31}}, {10, {3}},         {100, {11, 13}},
    {64, {7, 9, 11}}, {2, {2}},           {57, {5, 64, 29}}, {300, {157, 163, 167, 173, 179, 181}},
};

/// Block j of the design matrix: A_j(r, x) = 1 when x mod m_j = r.
Eigen::MatrixXd dense_block(uint32_t k, uint32_t m) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(m, k);
  for (uint32_t x = 0; x < k; ++x) a(x % m, x) = 1;
  return a;
}

Eigen::MatrixXd dense_gram(const Shape& shape, const std::vector<double>& weights) {
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(shape.k, shape.k);
  for (std::size_t j = 0; j < shape.moduli.size(); ++j) {
    const Eigen::MatrixXd a = dense_block(shape.k, shape.moduli[j]);
    g += weights[j] * a.transpose() * a;
  }
  return g;
}

Eigen::VectorXd random_vector(Eigen::Index n, std::mt19937& gen) {
  std::normal_distribution<double> normal;
  return Eigen::VectorXd::NullaryExpr(n, [&] { return normal(gen); });
}

/// Inverse-variance-like weights in [0.5, 2].
std::vector<double> random_weights(std::size_t l, std::mt19937& gen) {
  std::uniform_real_distribution<double> uniform(0.5, 2.0);
  std::vector<double> w(l);
  for (double& v : w) v = uniform(gen);
  return w;
}

// Products of 0/1 matrices with O(k) terms: only summation-order rounding.
constexpr double kExact = 1e-12;

TEST_CASE("residue sums and spread equal the dense block products", "[residue_matrix]") {
  std::mt19937 gen(41);
  for (const Shape& shape : kShapes) {
    CAPTURE(shape.k, shape.moduli);
    const ResidueMatrix a(shape.k, shape.moduli);
    CHECK(a.blocks() == shape.moduli.size());
    std::size_t rows = 0;
    for (uint32_t m : shape.moduli) rows += m;
    CHECK(a.total_rows() == rows);
    for (std::size_t j = 0; j < a.blocks(); ++j) {
      const uint32_t m = shape.moduli[j];
      const Eigen::MatrixXd block = dense_block(shape.k, m);
      const Eigen::VectorXd z = random_vector(shape.k, gen);
      Eigen::VectorXd sums(m);
      a.residue_sums(j, {z.data(), shape.k}, {sums.data(), m});
      CHECK((sums - block * z).cwiseAbs().maxCoeff() <= kExact * z.cwiseAbs().sum());

      const Eigen::VectorXd y = random_vector(m, gen);
      Eigen::VectorXd spread = Eigen::VectorXd::Constant(shape.k, 7.0);  // overwritten
      a.spread(j, {y.data(), m}, {spread.data(), shape.k}, /*accumulate=*/false);
      CHECK(spread == block.transpose() * y);
      a.spread(j, {y.data(), m}, {spread.data(), shape.k}, /*accumulate=*/true);
      CHECK(spread == 2 * (block.transpose() * y));

      const Eigen::VectorXd row_counts = block.rowwise().sum();
      for (uint32_t r = 0; r < m; ++r) CHECK(a.class_size(j, r) == row_counts[r]);
    }
  }
}

TEST_CASE("apply_gram, gram_diagonal and dense_gram equal the dense Gram", "[residue_matrix]") {
  std::mt19937 gen(42);
  for (const Shape& shape : kShapes) {
    CAPTURE(shape.k, shape.moduli);
    const ResidueMatrix a(shape.k, shape.moduli);
    std::vector<double> weights = random_weights(a.blocks(), gen);
    if (weights.size() > 1) weights[1] = 0;  // a zero weight drops its block
    const Eigen::MatrixXd expected = dense_gram(shape, weights);
    CHECK((a.dense_gram(weights) - expected).cwiseAbs().maxCoeff() <= kExact);
    CHECK((a.gram_diagonal(weights) - expected.diagonal()).cwiseAbs().maxCoeff() <= kExact);
    const Eigen::VectorXd x = random_vector(shape.k, gen);
    Eigen::VectorXd y;
    a.apply_gram(weights, x, y);
    const Eigen::VectorXd gx = expected * x;
    CHECK((y - gx).cwiseAbs().maxCoeff() <=
          kExact * expected.cwiseAbs().sum() * x.cwiseAbs().maxCoeff());
  }
}

TEST_CASE("solve_gram equals a dense solve", "[residue_matrix]") {
  std::mt19937 gen(43);
  // Shapes whose Gram matrix is nonsingular: sum of moduli minus (l - 1) is at least k.
  const std::vector<Shape> shapes = {
      {30, {37, 41}}, {40, {23, 29, 31}}, {300, {157, 163, 167, 173, 179, 181}}};
  for (const Shape& shape : shapes) {
    CAPTURE(shape.k, shape.moduli);
    const ResidueMatrix a(shape.k, shape.moduli);
    const std::vector<double> weights = random_weights(a.blocks(), gen);
    const Eigen::VectorXd b = random_vector(shape.k, gen);
    const Eigen::VectorXd x = a.solve_gram(weights, b);
    const Eigen::VectorXd expected = dense_gram(shape, weights).ldlt().solve(b);
    // CG to a 1e-10 residual on a Gram matrix with condition below ~100.
    CHECK((x - expected).norm() <= 1e-8 * expected.norm());
  }
}

TEST_CASE("solve_gram throws on a rank-deficient residue matrix", "[residue_matrix]") {
  // 5 + 7 - 1 = 11 independent columns for k = 12 values: the Gram matrix is singular.
  const ResidueMatrix a(12, {5, 7});
  const std::vector<double> weights = {1.0, 1.0};
  std::mt19937 gen(44);
  CHECK_THROWS_AS(a.solve_gram(weights, random_vector(12, gen)), Error);
  SeededRng rng(1);
  CHECK_THROWS_AS(trace_of_inverse_gram(a, weights, 100, rng), Error);
}

TEST_CASE("solve_gram throws when every weight is zero", "[residue_matrix]") {
  const ResidueMatrix a(30, {37, 41});
  CHECK_THROWS_WITH(a.solve_gram(std::vector<double>{0.0, 0.0}, Eigen::VectorXd::Ones(30)),
                    "the Gram matrix is zero: every weight is 0.");
}

TEST_CASE("exact trace of the inverse Gram equals the dense inverse trace", "[residue_matrix]") {
  std::mt19937 gen(45);
  const Shape shape{40, {23, 29, 31}};
  const ResidueMatrix a(shape.k, shape.moduli);
  const std::vector<double> weights = random_weights(a.blocks(), gen);
  SeededRng rng(2);
  bool exact = false;
  const double trace = trace_of_inverse_gram(a, weights, 40, rng, &exact);
  CHECK(exact);
  // Dense inverse of a well-conditioned 40 x 40 matrix: rounding only.
  CHECK(trace == Approx(dense_gram(shape, weights).inverse().trace()).epsilon(1e-10));
}

TEST_CASE("hutchinson trace of the inverse Gram is within 3% of the exact trace",
          "[residue_matrix]") {
  std::mt19937 gen(46);
  const ResidueMatrix a(300, {157, 163, 167, 173, 179, 181});
  const std::vector<double> weights = random_weights(a.blocks(), gen);
  SeededRng rng(3);
  bool exact = false;
  const double reference = trace_of_inverse_gram(a, weights, 300, rng, &exact);
  REQUIRE(exact);
  const double estimate = trace_of_inverse_gram(a, weights, 100, rng, &exact);
  CHECK_FALSE(exact);
  // The default stop is a 0.5% standard error, so 3% is six standard errors.
  CHECK(estimate == Approx(reference).epsilon(0.03));
}

TEST_CASE("residue matrix rejects bad arguments", "[residue_matrix]") {
  CHECK_THROWS_WITH(ResidueMatrix(1, {3}), "k must be at least 2, but is 1.");
  CHECK_THROWS_WITH(ResidueMatrix(10, {}), "moduli must not be empty.");
  CHECK_THROWS_WITH(ResidueMatrix(10, {3, 1}), "moduli[1] must be at least 2, but is 1.");

  const ResidueMatrix a(10, {3, 4});
  std::vector<double> z(10);
  std::vector<double> out(3);
  CHECK_THROWS_WITH(a.residue_sums(2, z, out), "block 2 is out of range: there are 2 blocks.");
  CHECK_THROWS_WITH(a.residue_sums(1, z, out), "out has size 3 but must have size 4.");
  CHECK_THROWS_WITH(a.spread(0, out, std::span<double>(z.data(), 9), false),
                    "out has size 9 but must have size 10.");
  CHECK_THROWS_WITH(a.class_size(0, 3), "r must be below the modulus 3, but is 3.");
  CHECK_THROWS_WITH(a.gram_diagonal(std::vector<double>{1.0}),
                    "weights has size 1 but must have size 2.");
  CHECK_THROWS_WITH(a.gram_diagonal(std::vector<double>{1.0, -2.0}),
                    "weights[1] must be finite and non-negative, but is -2.");
  CHECK_THROWS_AS(a.solve_gram(std::vector<double>{1.0, 1.0}, Eigen::VectorXd::Ones(9)), Error);
}

}  // namespace
}  // namespace residue
