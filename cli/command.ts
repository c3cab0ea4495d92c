/** One `curio` subcommand: its line in the usage text and what it runs. */
export interface Command {
  summary: string;
  run(args: string[]): Promise<void>;
}
