#include "model/blockwise_attention.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/function.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "core/error.hpp"

namespace c2s {

namespace {

constexpr std::int64_t kRowsPerBlock = 64;

// The products run in float32 even inside a bfloat16 autocast region (the
// worker threads inherit it with the caller's thread-local state).
struct NoAutocast {
  c10::impl::ExcludeDispatchKeyGuard guard{c10::DispatchKey::AutocastCPU};
};

// The operands of one call, float32 and contiguous, with each query row's
// span of visible keys: row (b, t) sees no key before first[b*T+t] nor after
// last[b*T+t] (inside the span the mask still decides).
struct Operands {
  at::Tensor q, k, v;     // [B, H, T, D], [B, KVH, S, D] x2
  at::Tensor blocked;     // [B, T, S] bool, contiguous
  std::vector<std::int64_t> first, last;
  double scale = 1, softcap = 0;
  std::int64_t B = 0, H = 0, KVH = 0, T = 0, S = 0, D = 0;

  std::int64_t blocks() const { return (T + kRowsPerBlock - 1) / kRowsPerBlock; }
  // Rows [t0, t0 + n) of batch row b and the key span [k0, k0 + w) they share.
  struct Block {
    std::int64_t t0, n, k0, w;
  };
  Block block(std::int64_t b, std::int64_t j) const {
    Block r{j * kRowsPerBlock, std::min(kRowsPerBlock, T - j * kRowsPerBlock), S, 0};
    std::int64_t end = 0;
    for (std::int64_t t = r.t0; t < r.t0 + r.n; ++t) {
      r.k0 = std::min(r.k0, first[std::size_t(b * T + t)]);
      end = std::max(end, last[std::size_t(b * T + t)] + 1);
    }
    r.w = end - r.k0;
    return r;
  }

  // The block's probabilities [n, w]; `capped` gets tanh(scale * q.k / softcap)
  // when soft-capping (the backward pass needs it).
  at::Tensor probabilities(std::int64_t b, std::int64_t h, const Block& r, at::Tensor* capped) const {
    const std::int64_t kvh = h / (H / KVH);
    auto s = at::mm(q[b][h].narrow(0, r.t0, r.n), k[b][kvh].narrow(0, r.k0, r.w).t());
    if (softcap > 0) {
      auto c = s.mul_(scale / softcap).tanh_();
      if (capped) *capped = c.clone();
      s = c.mul_(softcap);
    } else {
      s.mul_(scale);
    }
    s.masked_fill_(blocked[b].narrow(0, r.t0, r.n).narrow(1, r.k0, r.w), -std::numeric_limits<float>::infinity());
    return at::softmax(s, 1);
  }
};

Operands prepare(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& blocked,
                 double scale, double softcap) {
  Operands o;
  o.B = q.size(0), o.H = q.size(1), o.T = q.size(2), o.D = q.size(3), o.KVH = k.size(1), o.S = k.size(2);
  o.q = q.detach().to(at::kFloat).contiguous();
  o.k = k.detach().to(at::kFloat).contiguous();
  o.v = v.detach().to(at::kFloat).contiguous();
  o.blocked = blocked.expand({o.B, 1, 1, o.T, o.S}).reshape({o.B, o.T, o.S}).contiguous();
  o.scale = scale, o.softcap = softcap;
  const bool* m = o.blocked.data_ptr<bool>();
  o.first.assign(std::size_t(o.B * o.T), o.S);
  o.last.assign(std::size_t(o.B * o.T), -1);
  for (std::int64_t row = 0; row < o.B * o.T; ++row) {
    const bool* r = m + row * o.S;
    std::int64_t f = 0, l = o.S - 1;
    while (f < o.S && r[f]) ++f;
    while (l >= f && r[l]) --l;
    o.first[std::size_t(row)] = f;
    o.last[std::size_t(row)] = l;
  }
  return o;
}

at::Tensor forward(const Operands& x) {
  auto out = at::empty({x.B, x.H, x.T, x.D}, x.q.options());
  const std::int64_t nb = x.blocks();
  const at::ThreadLocalState modes;  // inference and grad modes, for the worker threads
  at::parallel_for(0, x.B * x.H * nb, 1, [&](std::int64_t begin, std::int64_t end) {
    at::ThreadLocalStateGuard guard(modes);
    const NoAutocast float32;
    for (std::int64_t u = begin; u < end; ++u) {
      const std::int64_t b = u / (x.H * nb), h = u / nb % x.H, j = u % nb;
      const auto r = x.block(b, j);
      auto o = out[b][h].narrow(0, r.t0, r.n);
      if (r.w <= 0) {  // rows that see no key (padding that no caller reads)
        o.zero_();
        continue;
      }
      at::mm_out(o, x.probabilities(b, h, r, nullptr), x.v[b][h / (x.H / x.KVH)].narrow(0, r.k0, r.w));
    }
  });
  return out;
}

class BlockwiseAttentionBackward final : public torch::autograd::Node {
 public:
  BlockwiseAttentionBackward(Operands x, at::Tensor out, at::ScalarType q_type, at::ScalarType k_type,
                             at::ScalarType v_type)
      : x_(std::move(x)), out_(std::move(out)), q_type_(q_type), k_type_(k_type), v_type_(v_type) {}

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    const Operands& x = x_;
    if (!x.q.defined()) throw Error("attention", "a backward pass ran twice (its inputs were released)");
    auto dout = grads[0].to(at::kFloat).contiguous();
    auto dq = at::zeros_like(x.q), dk = at::zeros_like(x.k), dv = at::zeros_like(x.v);
    const std::int64_t G = x.H / x.KVH, nb = x.blocks();
    // One unit per (b, key/value head): its G query heads add into the same
    // dk and dv rows, which no other unit writes.
    const at::ThreadLocalState modes;
    at::parallel_for(0, x.B * x.KVH, 1, [&](std::int64_t begin, std::int64_t end) {
      at::ThreadLocalStateGuard guard(modes);
      const NoAutocast float32;
      for (std::int64_t u = begin; u < end; ++u) {
        const std::int64_t b = u / x.KVH, kvh = u % x.KVH;
        for (std::int64_t h = kvh * G; h < (kvh + 1) * G; ++h)
          for (std::int64_t j = 0; j < nb; ++j) {
            const auto r = x.block(b, j);
            if (r.w <= 0) continue;
            at::Tensor capped;
            auto p = x.probabilities(b, h, r, x.softcap > 0 ? &capped : nullptr);  // [n, w]
            auto qb = x.q[b][h].narrow(0, r.t0, r.n), kb = x.k[b][kvh].narrow(0, r.k0, r.w);
            auto vb = x.v[b][kvh].narrow(0, r.k0, r.w), dob = dout[b][h].narrow(0, r.t0, r.n);
            auto ob = out_[b][h].narrow(0, r.t0, r.n);
            // d(scores) = p * (d(p) - rowsum(dout * out)), then through the cap and the scale.
            auto ds = at::mm(dob, vb.t()).sub_((dob * ob).sum(1, true)).mul_(p);
            if (x.softcap > 0) ds.mul_(1 - capped * capped);
            ds.mul_(x.scale);
            auto dqb = dq[b][h].narrow(0, r.t0, r.n);
            at::mm_out(dqb, ds, kb);
            auto dkb = dk[b][kvh].narrow(0, r.k0, r.w), dvb = dv[b][kvh].narrow(0, r.k0, r.w);
            dkb.addmm_(ds.t(), qb);
            dvb.addmm_(p.t(), dob);
          }
      }
    });
    return {task_should_compute_output(0) ? dq.to(q_type_) : at::Tensor(),
            task_should_compute_output(1) ? dk.to(k_type_) : at::Tensor(),
            task_should_compute_output(2) ? dv.to(v_type_) : at::Tensor()};
  }

  void release_variables() override {
    x_ = Operands();
    out_.reset();
  }

 private:
  Operands x_;
  at::Tensor out_;
  at::ScalarType q_type_, k_type_, v_type_;
};

}  // namespace

bool blockwise_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  auto takes = [](const at::Tensor& t) {
    return t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16);
  };
  return takes(q) && takes(k) && takes(v);
}

at::Tensor attend_blockwise(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& blocked,
                            double scale, double softcap) {
  const bool grad = c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  Operands x = prepare(q, k, v, blocked, scale, softcap);
  at::Tensor out;
  {
    c10::AutoGradMode no_grad(false);
    out = forward(x);
  }
  if (!grad) return out.to(v.scalar_type());
  auto node = std::shared_ptr<BlockwiseAttentionBackward>(
      // A detached alias: the node must not hold the tensor that holds it.
      new BlockwiseAttentionBackward(std::move(x), out.detach(), q.scalar_type(), k.scalar_type(), v.scalar_type()),
      torch::autograd::deleteNode);
  node->set_next_edges(torch::autograd::collect_next_edges(q, k, v));
  torch::autograd::create_gradient_edge(out, node);
  return out.to(v.scalar_type());
}

}  // namespace c2s
