#!/usr/bin/env bash
# Rebuild studies/ctm_act_pusht/results/cpu/report/CTM-ACT_PushT_report.pdf (LaTeX source in report/build/) from the committed
# sweeps, visualisation directories and speed benchmarks; nothing trains. Needs pdflatex/latexmk (DEVELOPERS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
R=studies/ctm_act_pusht/results/cpu
sweeps=(
  headline_long headline headline_6k_500 lerobot_act lerobot_diffusion
  halting_ctm_act_unet halting_ctm_act_mlp halting_ctm_act_tick_sync halting_pairing_first_last
  halting_gating_sigmoid inference_halting synapse gating pairing diffusion_mask_padding
  precision_act precision_diffusion precision_ctm_act_unet
  screen_act_capacity screen_ticks inference_ticks inference_ticks_long inference_ensemble inference_steps_long inference_ensemble_long
  screen_neuron_model screen_halting
  halting_predicted_error halting_convergence halting_pe3_inference screen_gating screen_init_from screen_pairing
  screen_synapse screen_read_out screen_curriculum screen_carry screen_best_vs_default best_halting_inference screen_memory
  screen_tick_penalty screen_best_synapse screen_best_smooth
)
viz=(shipped halting_predicted_error halting_3seeds)
rm -rf "$R/report"
PYTHONPATH="studies/ctm_act_pusht${PYTHONPATH:+:$PYTHONPATH}" python -m report_gen.report "${sweeps[@]/#/$R/}" "${viz[@]/#/--viz=$R/viz/}" \
  --speed studies/ctm_act_pusht/results/speed_cpu.json --speed studies/ctm_act_pusht/results/gpu/speed_h100.json --out "$R/report"
