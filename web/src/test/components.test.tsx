import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiFailure } from "../api/client";
import { CoverageChart, ReliabilityDiagram } from "../components/Charts";
import { Async } from "../components/ui";
import { Data } from "../screens/Data";

const bins = Array.from({ length: 10 }, (_, i) => ({ bin: i, lower: i / 10, upper: (i + 1) / 10, count: i === 8 ? 4 : 0, mean_confidence: i === 8 ? 0.85 : null, mean_label: i === 8 ? 0.75 : null }));

describe("Async", () => {
  it("shows loading, then an error with a retry, then the data", () => {
    const reload = vi.fn();
    const { rerender } = render(<Async load={{ data: undefined, error: undefined, loading: true, reload }} what="facts">{() => "x"}</Async>);
    expect(screen.getByRole("status").textContent).toContain("Loading facts");
    rerender(<Async load={{ data: undefined, error: new ApiFailure("boom", "x", 500), loading: false, reload }} what="facts">{() => "x"}</Async>);
    expect(screen.getByRole("alert").textContent).toContain("Could not load facts: boom");
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(reload).toHaveBeenCalled();
    rerender(<Async load={{ data: [1, 2], error: undefined, loading: false, reload }} what="facts">{(d) => `got ${d.length}`}</Async>);
    expect(screen.getByText("got 2")).toBeTruthy();
  });
});

describe("charts", () => {
  it("draw only the bins the server filled, with an accessible title", () => {
    const { container } = render(<ReliabilityDiagram raw={bins} calibrated={bins} />);
    expect(screen.getByRole("img", { name: /Reliability diagram/ })).toBeTruthy();
    expect(container.querySelectorAll("circle.dot")).toHaveLength(1);
    expect(container.querySelectorAll("rect.dot")).toHaveLength(1);
  });

  it("mark the person's threshold", () => {
    render(<CoverageChart points={[{ threshold: 0.8, coverage: 0.4, precision: 0.9, n_auto: 4 }]} threshold={0.8} />);
    expect(screen.getByText("yours 0.8")).toBeTruthy();
  });
});

describe("Data", () => {
  it("deleting everything needs the username typed", () => {
    render(<Data username="ada" />);
    const button = screen.getByRole("button", { name: "Delete all my data" }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText(/Type your username/), { target: { value: "ad" } });
    expect(button.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText(/Type your username/), { target: { value: "ada" } });
    expect(button.disabled).toBe(false);
  });
});
