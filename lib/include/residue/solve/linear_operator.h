// LinearOperator: a matrix known only by how it multiplies, for the iterative solvers.
//
// MSS never forms its design matrix: applying it is O(k * l) through residue sums, while a
// dense copy would be (sum m_j) x k. Implementations must be safe to call concurrently.
//
//   struct Diag : LinearOperator { ... };   // rows(), cols(), apply(), apply_transpose()
//   LsmrResult r = lsmr(op, b);
#pragma once

#include <Eigen/Core>

namespace residue {

class LinearOperator {
 public:
  virtual ~LinearOperator() = default;
  virtual Eigen::Index rows() const = 0;
  virtual Eigen::Index cols() const = 0;
  /// y = A x. REQUIRES: x.size() == cols(); y is resized to rows().
  virtual void apply(const Eigen::VectorXd& x, Eigen::VectorXd& y) const = 0;
  /// x = A^T y. REQUIRES: y.size() == rows(); x is resized to cols().
  virtual void apply_transpose(const Eigen::VectorXd& y, Eigen::VectorXd& x) const = 0;
};

/// A dense matrix as a LinearOperator (tests, small problems). Holds a reference: the matrix
/// must outlive the operator.
class DenseOperator final : public LinearOperator {
 public:
  explicit DenseOperator(const Eigen::MatrixXd& a) : a_(a) {}
  Eigen::Index rows() const override { return a_.rows(); }
  Eigen::Index cols() const override { return a_.cols(); }
  void apply(const Eigen::VectorXd& x, Eigen::VectorXd& y) const override { y.noalias() = a_ * x; }
  void apply_transpose(const Eigen::VectorXd& y, Eigen::VectorXd& x) const override {
    x.noalias() = a_.transpose() * y;
  }

 private:
  const Eigen::MatrixXd& a_;
};

}  // namespace residue
